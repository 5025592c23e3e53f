include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/iam.hcl"
  expose = true
}

# The hub's iam unit creates the account-wide roles and the ParallelCluster roles; its data access
# policy covers the central bucket and the account's us-west-2 replica (used by eks-inference).
inputs = {
  create_account_roles         = true
  create_parallelcluster_roles = true
  data_bucket_arns = [
    "arn:aws:s3:::${include.envcommon.locals.hub.data_bucket_prefix}-${include.envcommon.locals.account_id}-us-east-1",
    "arn:aws:s3:::${include.envcommon.locals.hub.data_bucket_prefix}-${include.envcommon.locals.account_id}-us-west-2",
  ]
}
