# ECR registry in the hub: immutable tags, scan on push, KMS, cross-account pull.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//ecr"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
  # Hub facts (main account) shared by every account.
  hub = read_terragrunt_config("${dirname(find_in_parent_folders("root.hcl"))}/main-account/account.hcl").locals
}

dependency "kms" {
  config_path = "${get_terragrunt_dir()}/../kms"

  mock_outputs = {
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  repository_names     = ["ml-training", "ml-inference", "hyperpod-jobs", "parallelcluster-jobs"]
  kms_key_arn          = dependency.kms.outputs.key_arn
  pull_account_ids     = local.hub.workload_account_ids
  keep_tagged_images   = 200
  untagged_expiry_days = 14
}
