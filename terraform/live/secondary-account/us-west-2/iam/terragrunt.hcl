include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/iam.hcl"
  expose = true
}

# Cluster roles for the secondary account's us-west-2 clusters (HyperPod instance role).
inputs = {
  create_hyperpod_role = true
}
