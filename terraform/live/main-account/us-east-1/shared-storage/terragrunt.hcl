include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/shared-storage.hcl"
  expose = true
}

# The regional data bucket FSx imports from: the central bucket itself.
dependency "data_bucket" {
  config_path = "${get_terragrunt_dir()}/../s3-central-data"

  mock_outputs = {
    bucket_name = "ml-clusters-data-483026362307-us-east-1"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  data_repository_bucket_name = dependency.data_bucket.outputs.bucket_name
}
