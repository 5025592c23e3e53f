# IAM per account/region. Account-wide roles (TerraformExecutionRole, observer) are created once
# per account by the unit that sets create_account_roles = true.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//iam"
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
  name_prefix                     = "ml-clusters"
  trusted_ci_role_arn             = local.hub.ci_role_arn
  observer_trusted_principal_arns = [local.hub.orchestrator_role_arn]
  kms_key_arns                    = [dependency.kms.outputs.key_arn]
  data_bucket_arns                = ["arn:aws:s3:::${local.hub.data_bucket_prefix}-${local.account_id}-${local.aws_region}"]
}
