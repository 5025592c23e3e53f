include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/shared-storage.hcl"
  expose = true
}

# The regional data bucket FSx imports from: this region's replica.
dependency "data_bucket" {
  config_path = "${get_terragrunt_dir()}/../s3-data-replica"

  mock_outputs = {
    bucket_name = "ml-clusters-data-159553542841-us-west-2"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  data_repository_bucket_name = dependency.data_bucket.outputs.bucket_name
}
