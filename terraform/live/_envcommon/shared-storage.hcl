# FSx for Lustre (PERSISTENT_2, DRA to the regional data bucket) and EFS (elastic throughput,
# access points). The regional bucket dependency ("data_bucket") is declared by each unit: the hub
# region uses the central bucket, every other region its replica.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//shared-storage"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
}

dependency "networking" {
  config_path = "${get_terragrunt_dir()}/../networking"

  mock_outputs = {
    vpc_id                = "vpc-00000000000000000"
    vpc_cidr_block        = "10.0.0.0/16"
    private_subnet_ids    = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
    private_subnets_by_az = { "us-east-1a" = "subnet-00000000000000001", "us-east-1b" = "subnet-00000000000000002", "us-east-1c" = "subnet-00000000000000003" }
    efa_security_group_id = "sg-00000000000000000"
    placement_group_name  = "mock-placement-group"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "kms" {
  config_path = "${get_terragrunt_dir()}/../kms"

  mock_outputs = {
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  name                            = "ml-${local.account_name}-${local.aws_region}"
  vpc_id                          = dependency.networking.outputs.vpc_id
  vpc_cidr_block                  = dependency.networking.outputs.vpc_cidr_block
  fsx_subnet_id                   = dependency.networking.outputs.private_subnet_ids[0]
  efs_subnet_ids                  = dependency.networking.outputs.private_subnet_ids
  client_security_group_ids       = [dependency.networking.outputs.efa_security_group_id]
  kms_key_arn                     = dependency.kms.outputs.key_arn
  fsx_storage_capacity_gib        = 4800
  fsx_throughput_per_unit_storage = 250
  fsx_file_system_path            = "/datasets"
  data_repository_prefix          = "datasets/"
  efs_access_points = [
    { name = "home", path = "/home", uid = 1000, gid = 1000 },
    { name = "shared", path = "/shared", uid = 1000, gid = 1000 },
  ]
}
