terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    # awscc_sagemaker_cluster appeared in awscc 1.23 (no hashicorp/aws resource covers HyperPod's
    # full API); instance_storage_configs.volume_kms_key_id needs a recent 1.x, which ~> picks.
    awscc = {
      source  = "hashicorp/awscc"
      version = "~> 1.23"
    }
  }
}
