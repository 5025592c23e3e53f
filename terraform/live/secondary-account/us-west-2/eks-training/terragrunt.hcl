include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/eks-training.hcl"
  expose = true
}

# Cross-account: images come from the main account's ECR registry, encrypted with the main
# account's hub KMS key.
dependency "main_kms" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/main-account/us-east-1/kms"

  mock_outputs = {
    key_arn = "arn:aws:kms:us-east-1:483026362307:key/00000000-0000-0000-0000-000000000000"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "main_ecr" {
  config_path = "${dirname(find_in_parent_folders("root.hcl"))}/main-account/us-east-1/ecr"

  mock_outputs = {
    repository_arns = ["arn:aws:ecr:us-east-1:483026362307:repository/ml-training"]
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  ecr_repository_arns = dependency.main_ecr.outputs.repository_arns
  extra_kms_key_arns  = [dependency.main_kms.outputs.key_arn]
}
