# One customer-managed key per account/region. The hub key (main/us-east-1) also lets the workload
# accounts decrypt (ECR images, shared data); every replica-region key lets the hub's S3 replication
# role encrypt replicas.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//kms"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
  # Hub facts (main account) shared by every account.
  hub                  = read_terragrunt_config("${dirname(find_in_parent_folders("root.hcl"))}/main-account/account.hcl").locals
  is_hub               = local.account_name == "main" && local.aws_region == local.hub.hub_region
  replication_role_arn = "arn:aws:iam::${local.hub.account_id}:role/${local.hub.s3_replication_role_name}"
}

inputs = {
  alias_name             = "alias/ml-clusters-${local.account_name}-${local.aws_region}"
  description            = "ml-clusters shared key for ${local.account_name}/${local.aws_region} (S3 data, FSx, EFS, EKS secrets, ECR)"
  decrypt_account_ids    = local.is_hub ? local.hub.workload_account_ids : []
  encrypt_principal_arns = local.is_hub ? [] : [local.replication_role_arn]
}
