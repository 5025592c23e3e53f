# A regional replica of the central data bucket (same account cross-region, or cross-account).
# The bucket policy admits the hub's replication role; its ARN is static because the replication
# unit depends on the replicas, not the other way round.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//s3-data-bucket"
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
    key_arn = "arn:aws:kms:us-west-2:111111111111:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

# The replication source: main-account/us-east-1/s3-central-data (cross-account edge for the
# secondary account's replicas).
dependency "central" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/main-account/us-east-1/s3-central-data"

  mock_outputs = {
    bucket_arn = "arn:aws:s3:::ml-clusters-data-483026362307-us-east-1"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  bucket_name                        = "${local.hub.data_bucket_prefix}-${local.account_id}-${local.aws_region}"
  bucket_role                        = "replica"
  kms_key_arn                        = dependency.kms.outputs.key_arn
  replication_source_role_arn        = "arn:aws:iam::${local.hub.account_id}:role/${local.hub.s3_replication_role_name}"
  replication_source_bucket_arn      = dependency.central.outputs.bucket_arn
  noncurrent_version_expiration_days = 30
}
