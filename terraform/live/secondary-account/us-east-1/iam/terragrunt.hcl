include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/iam.hcl"
  expose = true
}

# Account-wide roles of the secondary account (TerraformExecutionRole trusting the hub's CI role,
# the observer role for the monitoring sensors). No clusters run in this region.
inputs = {
  create_account_roles = true
}
