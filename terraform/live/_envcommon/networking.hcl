# VPC per account/region: private compute subnets, public NAT subnets, EFA security group,
# cluster placement group, S3 gateway endpoint.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//networking"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
}

inputs = {
  name               = "ml-${local.account_name}-${local.aws_region}"
  vpc_cidr           = local.region_vars.locals.vpc_cidr
  azs                = local.region_vars.locals.azs
  single_nat_gateway = false
  enable_flow_logs   = true
}
