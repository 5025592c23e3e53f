# Main account: management + workload. Hosts the state bucket, the central S3 data bucket
# (us-east-1), the ECR registry, the shared KMS key and ML clusters.
locals {
  account_id            = "483026362307"
  account_name          = "main"
  is_management_account = true
  state_bucket          = "ml-clusters-tfstate-483026362307"
  ecr_registry          = "483026362307.dkr.ecr.us-east-1.amazonaws.com"

  # Hub-wide facts that other accounts' units read with read_terragrunt_config of this file.
  hub_region               = "us-east-1"
  workload_account_ids     = ["159553542841"]
  ci_role_arn              = "arn:aws:iam::483026362307:role/TerraformCIRole"
  orchestrator_role_arn    = "arn:aws:iam::483026362307:role/ml-clusters-dagster"
  s3_replication_role_name = "ml-clusters-s3-replication"
  data_bucket_prefix       = "ml-clusters-data"
  gitops_repo_url          = "https://github.com/ml-platform/ml-clusters.git"
}
