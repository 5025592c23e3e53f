# Bootstrap unit: the central state bucket every other unit stores its state in.
# First apply runs with a local backend and is then migrated (see docs: Estate).
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//tfstate"
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

inputs = {
  bucket_name                        = local.account_vars.locals.state_bucket
  allowed_principal_arns             = [local.hub.ci_role_arn]
  noncurrent_version_expiration_days = 90
}
