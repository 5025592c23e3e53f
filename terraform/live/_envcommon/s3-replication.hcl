# Hub-and-spoke replication from the central bucket to every replica: one rule per destination and
# prefix (datasets/ -> STANDARD_IA, checkpoints/ -> GLACIER_IR), RTC 15 min + metrics, ownership
# translated to the destination account for cross-account rules.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//s3-replication"
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

dependency "source" {
  config_path = "${get_terragrunt_dir()}/../s3-central-data"

  mock_outputs = {
    bucket_arn  = "arn:aws:s3:::ml-clusters-data-483026362307-us-east-1"
    bucket_name = "ml-clusters-data-483026362307-us-east-1"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "replica_main_us_west_2" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/main-account/us-west-2/s3-data-replica"

  mock_outputs = {
    bucket_arn    = "arn:aws:s3:::ml-clusters-data-483026362307-us-west-2"
    bucket_name   = "ml-clusters-data-483026362307-us-west-2"
    bucket_region = "us-west-2"
    account_id    = "483026362307"
    kms_key_arn   = "arn:aws:kms:us-west-2:483026362307:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "replica_secondary_us_east_1" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/secondary-account/us-east-1/s3-data-replica"

  mock_outputs = {
    bucket_arn    = "arn:aws:s3:::ml-clusters-data-159553542841-us-east-1"
    bucket_name   = "ml-clusters-data-159553542841-us-east-1"
    bucket_region = "us-east-1"
    account_id    = "159553542841"
    kms_key_arn   = "arn:aws:kms:us-east-1:159553542841:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "replica_secondary_us_west_2" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/secondary-account/us-west-2/s3-data-replica"

  mock_outputs = {
    bucket_arn    = "arn:aws:s3:::ml-clusters-data-159553542841-us-west-2"
    bucket_name   = "ml-clusters-data-159553542841-us-west-2"
    bucket_region = "us-west-2"
    account_id    = "159553542841"
    kms_key_arn   = "arn:aws:kms:us-west-2:159553542841:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  role_name          = local.hub.s3_replication_role_name
  source_bucket_name = dependency.source.outputs.bucket_name
  source_bucket_arn  = dependency.source.outputs.bucket_arn
  source_kms_key_arn = dependency.kms.outputs.key_arn
  destinations = [
    {
      name        = "main-us-west-2"
      bucket_arn  = dependency.replica_main_us_west_2.outputs.bucket_arn
      region      = dependency.replica_main_us_west_2.outputs.bucket_region
      account_id  = dependency.replica_main_us_west_2.outputs.account_id
      kms_key_arn = dependency.replica_main_us_west_2.outputs.kms_key_arn
    },
    {
      name        = "secondary-us-east-1"
      bucket_arn  = dependency.replica_secondary_us_east_1.outputs.bucket_arn
      region      = dependency.replica_secondary_us_east_1.outputs.bucket_region
      account_id  = dependency.replica_secondary_us_east_1.outputs.account_id
      kms_key_arn = dependency.replica_secondary_us_east_1.outputs.kms_key_arn
    },
    {
      name        = "secondary-us-west-2"
      bucket_arn  = dependency.replica_secondary_us_west_2.outputs.bucket_arn
      region      = dependency.replica_secondary_us_west_2.outputs.bucket_region
      account_id  = dependency.replica_secondary_us_west_2.outputs.account_id
      kms_key_arn = dependency.replica_secondary_us_west_2.outputs.kms_key_arn
    },
  ]
  prefix_rules = [
    { prefix = "datasets/", storage_class = "STANDARD_IA" },
    { prefix = "checkpoints/", storage_class = "GLACIER_IR" },
  ]
  replication_time_minutes = 15
}
