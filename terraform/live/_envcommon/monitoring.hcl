# Replication and FSx dashboards/alarms, an SNS alarm topic, and an AMP workspace for DCGM metrics.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//monitoring"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
}

dependency "kms" {
  config_path = "${get_terragrunt_dir()}/../kms"

  mock_outputs = {
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "s3_replication" {
  config_path = "${get_terragrunt_dir()}/../s3-replication"

  mock_outputs = {
    source_bucket_name = "ml-clusters-data-483026362307-us-east-1"
    rules = [
      { rule_id = "main-us-west-2-datasets", destination_bucket_name = "ml-clusters-data-483026362307-us-west-2" },
    ]
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "shared_storage" {
  config_path = "${get_terragrunt_dir()}/../shared-storage"

  mock_outputs = {
    fsx_id         = "fs-00000000000000000"
    fsx_dns_name   = "fs-00000000000000000.fsx.us-east-1.amazonaws.com"
    fsx_mount_name = "abcdefgh"
    efs_id         = "fs-11111111"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  name                                  = "ml-clusters-${local.account_name}-${local.aws_region}"
  kms_key_arn                           = dependency.kms.outputs.key_arn
  source_bucket_name                    = dependency.s3_replication.outputs.source_bucket_name
  replication_rules                     = dependency.s3_replication.outputs.rules
  replication_latency_threshold_seconds = 900
  fsx_file_system_ids                   = [dependency.shared_storage.outputs.fsx_id]
}
