# Secondary account: workload only. Additional ML clusters; receives S3 data replicas; pulls
# images from the main account's ECR registry; its state lives in the main account's bucket.
locals {
  account_id            = "159553542841"
  account_name          = "secondary"
  is_management_account = false
  state_bucket          = "ml-clusters-tfstate-483026362307"
  ecr_registry          = "483026362307.dkr.ecr.us-east-1.amazonaws.com"
}
