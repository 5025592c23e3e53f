terraform {
  required_version = ">= 1.10"

  required_providers {
    # The aws-tf/parallelcluster pcluster_api submodule is written against AWS provider 5.x.
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}
