# The ParallelCluster API (API Gateway + Lambda behind a CloudFormation stack). The
# aws-parallelcluster Terraform provider talks to this API, not to EC2, so it is an explicit
# prerequisite of every parallelcluster unit: its own unit, applied first.

module "pcluster_api" {
  #checkov:skip=CKV_TF_1:Registry module pinned to an exact version; registry sources have no commit hash to pin.
  source  = "aws-tf/parallelcluster/aws//modules/pcluster_api"
  version = "1.1.0"

  region         = var.region
  api_stack_name = var.api_stack_name
  api_version    = var.parallelcluster_version

  parameters = merge(
    {
      EnableIamAdminAccess = tostring(var.enable_iam_admin_access)
    },
    var.permissions_boundary_policy_arn == null ? {} : {
      PermissionsBoundaryPolicy = var.permissions_boundary_policy_arn
    },
  )
}
