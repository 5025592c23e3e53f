# The ParallelCluster API (API Gateway + Lambda, via CloudFormation): an explicit prerequisite of
# every ParallelCluster unit, because the aws-parallelcluster provider talks to it, not to EC2.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//pcluster-api"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
}

inputs = {
  region                  = local.aws_region
  api_stack_name          = "ml-clusters-pcluster-api"
  parallelcluster_version = "3.14.0"
}
