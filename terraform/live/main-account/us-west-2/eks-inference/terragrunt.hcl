include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/eks-inference.hcl"
  expose = true
}

# IAM is global: this cluster uses the account's us-east-1 iam unit (its data access policy covers
# this region's replica bucket).
dependency "iam" {
  config_path = "${get_terragrunt_dir()}/../../us-east-1/iam"

  mock_outputs = {
    data_access_policy_arn = "arn:aws:iam::111111111111:policy/mock-data-access"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  data_access_policy_arn = dependency.iam.outputs.data_access_policy_arn
}
