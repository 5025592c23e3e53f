# Root configuration shared by every unit (NOT a unit itself).
#
# Every unit includes this file:  include "root" { path = find_in_parent_folders("root.hcl") }
# It derives the account and region from the unit's position in the tree
# (<account>/<region>/<unit>), stores state centrally in the main account, and generates an AWS
# provider that assumes the account's TerraformExecutionRole and stamps every resource with the
# unit that owns it (the monitoring sensors map AWS resources back to assets through that tag).

terraform_version_constraint  = ">= 1.10"
terragrunt_version_constraint = ">= 1.0"

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))

  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region

  # The unit's path under the live root, e.g. "main-account/us-east-1/s3-central-data".
  unit_path = path_relative_to_include()
}

# One state file per component per account per region, all in the main account's central bucket
# (native S3 locking: OpenTofu >= 1.10, no DynamoDB table).
remote_state {
  backend = "s3"
  generate = {
    path      = "backend.tf"
    if_exists = "overwrite_terragrunt"
  }
  config = {
    bucket       = local.account_vars.locals.state_bucket
    key          = "${local.account_name}/${local.aws_region}/${basename(get_terragrunt_dir())}/terraform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}

generate "provider" {
  path      = "provider.tf"
  if_exists = "overwrite_terragrunt"
  contents  = <<EOF
provider "aws" {
  region              = "${local.aws_region}"
  allowed_account_ids = ["${local.account_id}"]

  assume_role {
    role_arn     = "arn:aws:iam::${local.account_id}:role/TerraformExecutionRole"
    session_name = "ml-clusters-${local.account_name}-${local.aws_region}"
  }

  default_tags {
    tags = {
      ManagedBy          = "terraform"
      Account            = "${local.account_name}"
      Region             = "${local.aws_region}"
      "ml-clusters:unit" = "${local.unit_path}"
    }
  }
}
EOF
}

# Throttling errors from AWS are worth another try; state-lock contention is deliberately NOT
# retried here (the executor owns that decision, with -lock-timeout).
errors {
  retry "transient_aws" {
    retryable_errors = [
      "(?s).*Throttling.*",
      "(?s).*RequestLimitExceeded.*",
      "(?s).*TooManyRequestsException.*",
      "(?s).*connection reset by peer.*",
    ]
    max_attempts       = 3
    sleep_interval_sec = 10
  }
}
