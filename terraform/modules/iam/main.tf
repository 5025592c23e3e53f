# IAM of one account/region. IAM is global, so region-scoped roles carry the region in their name
# and the account-wide roles are created by exactly one iam unit per account.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.region
  suffix     = "${var.name_prefix}-${local.region}"
}

# --- data access (every cluster type) -------------------------------------------------------------

data "aws_iam_policy_document" "data_access" {
  dynamic "statement" {
    for_each = length(var.data_bucket_arns) > 0 ? [1] : []

    content {
      sid       = "ListDataBuckets"
      actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
      resources = var.data_bucket_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.data_bucket_arns) > 0 ? [1] : []

    content {
      sid = "ReadWriteDatasetsAndCheckpoints"
      actions = [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts",
      ]
      resources = [for arn in var.data_bucket_arns : "${arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "UseDataKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = var.kms_key_arns
    }
  }

  # An IAM policy must have at least one statement; this one grants nothing beyond reading the
  # caller's own identity, so an iam unit without buckets still produces a valid, attachable policy.
  statement {
    sid       = "Identity"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }
}

resource "aws_iam_policy" "data_access" {
  name        = "${local.suffix}-data-access"
  description = "Read datasets and write checkpoints in the ml-clusters data buckets of ${local.region}"
  policy      = data.aws_iam_policy_document.data_access.json

  tags = var.tags
}

# --- TerraformExecutionRole (account-wide) ---------------------------------------------------------

data "aws_iam_policy_document" "execution_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = [var.trusted_ci_role_arn]
    }
  }
}

resource "aws_iam_role" "execution" {
  count = var.create_account_roles ? 1 : 0

  name                 = var.execution_role_name
  description          = "Assumed by the ml-clusters CI role to apply Terragrunt units in this account"
  assume_role_policy   = data.aws_iam_policy_document.execution_trust.json
  max_session_duration = var.execution_role_max_session_seconds
  permissions_boundary = var.execution_role_permissions_boundary_arn

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  #checkov:skip=CKV_AWS_274:The execution role applies the whole estate (IAM, VPC, EKS, FSx, KMS); it is assumable only by the hub CI role and can be narrowed with execution_role_permissions_boundary_arn.
  for_each = var.create_account_roles ? toset(var.execution_role_policy_arns) : toset([])

  role       = aws_iam_role.execution[0].name
  policy_arn = each.value
}

# --- observer role for the monitoring sensors (account-wide, read-only) ----------------------------

data "aws_iam_policy_document" "observer_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "AWS"
      identifiers = length(var.observer_trusted_principal_arns) > 0 ? var.observer_trusted_principal_arns : ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

data "aws_iam_policy_document" "observer" {
  # Describe/List/Get-metric calls: none of these actions supports resource-level scoping.
  statement {
    sid = "ObserveEstate"
    actions = [
      "cloudwatch:GetMetricData",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:ListMetrics",
      "ec2:DescribeCapacityReservations",
      "ec2:DescribeCapacityBlocks",
      "ec2:DescribeCapacityBlockStatus",
      "ec2:DescribeCapacityBlockExtensionOfferings",
      "ec2:DescribeInstances",
      "ec2:DescribeVpcs",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeSecurityGroupRules",
      "eks:ListClusters",
      "sagemaker:ListClusters",
      "sagemaker:ListTrainingPlans",
      "tag:GetResources",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ObserveClusters"
    actions = [
      "eks:DescribeCluster",
      "eks:ListNodegroups",
      "eks:DescribeNodegroup",
      "sagemaker:DescribeCluster",
      "sagemaker:ListClusterNodes",
      "sagemaker:DescribeTrainingPlan",
      "cloudformation:DescribeStacks",
      # DescribeStacks without a stack name (all stacks, paginated) also needs ListStacks.
      "cloudformation:ListStacks",
    ]
    resources = [
      "arn:${local.partition}:eks:*:${local.account_id}:cluster/*",
      "arn:${local.partition}:eks:*:${local.account_id}:nodegroup/*",
      "arn:${local.partition}:sagemaker:*:${local.account_id}:cluster/*",
      "arn:${local.partition}:sagemaker:*:${local.account_id}:training-plan/*",
      "arn:${local.partition}:cloudformation:*:${local.account_id}:stack/*",
    ]
  }

  statement {
    sid = "ObserveAlarmsAndStorage"
    actions = [
      "cloudwatch:DescribeAlarms",
      "fsx:DescribeFileSystems",
      "fsx:DescribeDataRepositoryAssociations",
      "elasticfilesystem:DescribeFileSystems",
    ]
    resources = [
      "arn:${local.partition}:cloudwatch:*:${local.account_id}:alarm:*",
      "arn:${local.partition}:fsx:*:${local.account_id}:file-system/*",
      "arn:${local.partition}:fsx:*:${local.account_id}:association/*",
      "arn:${local.partition}:elasticfilesystem:*:${local.account_id}:file-system/*",
    ]
  }

  # Bucket settings the drift probe compares and the replication sensor reads.
  statement {
    sid = "ObserveBuckets"
    actions = [
      "s3:GetReplicationConfiguration",
      "s3:GetBucketVersioning",
      "s3:GetBucketTagging",
      "s3:GetBucketPublicAccessBlock",
    ]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-*"]
  }

  # The drift probe reads every unit's state from the central state bucket (tfstate module, named
  # <name_prefix>-tfstate-<account id>) with the observer role of the account that owns it.
  statement {
    sid       = "ListTerraformState"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-tfstate-*"]
  }

  statement {
    sid       = "ReadTerraformState"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${var.name_prefix}-tfstate-*/*.tfstate"]
  }

  # State objects are SSE-KMS with the state bucket's own key (alias/<bucket name>); its key policy
  # leaves use by this account's principals to their IAM policies. Decrypt only through S3.
  statement {
    sid       = "DecryptTerraformState"
    actions   = ["kms:Decrypt"]
    resources = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.*.amazonaws.com"]
    }

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "kms:ResourceAliases"
      values   = ["alias/${var.name_prefix}-tfstate-*"]
    }
  }

  # The drift probe compares aws_kms_key (enabled, pending deletion).
  statement {
    sid       = "ObserveKeys"
    actions   = ["kms:DescribeKey"]
    resources = ["arn:${local.partition}:kms:*:${local.account_id}:key/*"]
  }

  # The ParallelCluster API (API Gateway, IAM auth): DescribeCluster only, i.e. GET /v3/clusters/{name}.
  statement {
    sid       = "DescribeParallelClusters"
    actions   = ["execute-api:Invoke"]
    resources = ["arn:${local.partition}:execute-api:*:${local.account_id}:*/*/GET/v3/clusters/*"]
  }
}

resource "aws_iam_role" "observer" {
  count = var.create_account_roles ? 1 : 0

  name                 = var.observer_role_name
  description          = "Read-only view of the ml-clusters estate for the Dagster monitoring sensors"
  assume_role_policy   = data.aws_iam_policy_document.observer_trust.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "observer" {
  count = var.create_account_roles ? 1 : 0

  name   = "observe-estate"
  role   = aws_iam_role.observer[0].id
  policy = data.aws_iam_policy_document.observer.json
}

# --- ParallelCluster node roles ---------------------------------------------------------------------
# Path /parallelcluster/ so the ParallelCluster API's PassRole permissions cover them. Permissions
# follow the ParallelCluster 3 "minimal policies" for custom InstanceRole settings.

data "aws_iam_policy_document" "ec2_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "pcluster_head_node" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name               = "${local.suffix}-pcluster-head"
  path               = "/parallelcluster/"
  description        = "ParallelCluster head node (Slurm controller): launches and terminates compute nodes"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json

  tags = var.tags
}

resource "aws_iam_role" "pcluster_compute" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name               = "${local.suffix}-pcluster-compute"
  path               = "/parallelcluster/"
  description        = "ParallelCluster compute nodes"
  assume_role_policy = data.aws_iam_policy_document.ec2_trust.json

  tags = var.tags
}

data "aws_iam_policy_document" "pcluster_head_node" {
  statement {
    sid     = "ClusterArtifacts"
    actions = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = [
      "arn:${local.partition}:s3:::${local.region}-aws-parallelcluster/*",
      "arn:${local.partition}:s3:::dcv-license.${local.region}/*",
      "arn:${local.partition}:s3:::parallelcluster-*-v1-do-not-delete/*",
    ]
  }

  statement {
    sid       = "ClusterStateTables"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/parallelcluster-*"]
  }

  statement {
    sid       = "TerminateComputeNodesOnly"
    actions   = ["ec2:TerminateInstances"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:ResourceTag/parallelcluster:node-type"
      values   = ["Compute"]
    }
  }

  # Slurm resume launches compute nodes through EC2 Fleet; the resources involved (fleet, launch
  # template, subnet, security groups, capacity reservation, placement group) are only known at
  # launch, and RunInstances/CreateFleet are scoped by region and account here.
  statement {
    sid     = "LaunchComputeNodes"
    actions = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:*",
      "arn:${local.partition}:ec2:${local.region}::image/*",
    ]
  }

  statement {
    sid       = "PassComputeRole"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account_id}:role/parallelcluster/*"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }

  statement {
    sid = "DescribeNodes"
    actions = [
      "ec2:DescribeInstances",
      "ec2:DescribeInstanceStatus",
      "ec2:DescribeVolumes",
      "ec2:DescribeCapacityReservations",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DescribeInstanceAttributes"
    actions   = ["ec2:DescribeInstanceAttribute"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
  }

  statement {
    sid     = "TagAndAttach"
    actions = ["ec2:CreateTags", "ec2:AttachVolume"]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:volume/*",
    ]
  }

  statement {
    sid       = "ClusterStack"
    actions   = ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource", "cloudformation:SignalResource"]
    resources = ["arn:${local.partition}:cloudformation:${local.region}:${local.account_id}:stack/*"]
  }

  statement {
    sid       = "ClusterDns"
    actions   = ["route53:ChangeResourceRecordSets"]
    resources = ["arn:${local.partition}:route53:::hostedzone/*"]
  }
}

data "aws_iam_policy_document" "pcluster_compute" {
  statement {
    sid       = "ClusterStateTables"
    actions   = ["dynamodb:Query"]
    resources = ["arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/parallelcluster-*"]
  }

  statement {
    sid       = "ClusterArtifacts"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.region}-aws-parallelcluster/*"]
  }

  statement {
    sid       = "DescribeSelf"
    actions   = ["ec2:DescribeInstanceAttribute"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:instance/*"]
  }
}

resource "aws_iam_role_policy" "pcluster_head_node" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name   = "parallelcluster-head-node"
  role   = aws_iam_role.pcluster_head_node[0].id
  policy = data.aws_iam_policy_document.pcluster_head_node.json
}

resource "aws_iam_role_policy" "pcluster_compute" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name   = "parallelcluster-compute"
  role   = aws_iam_role.pcluster_compute[0].id
  policy = data.aws_iam_policy_document.pcluster_compute.json
}

locals {
  pcluster_roles = var.create_parallelcluster_roles ? {
    head    = aws_iam_role.pcluster_head_node[0].name
    compute = aws_iam_role.pcluster_compute[0].name
  } : {}

  node_managed_policies = {
    ssm        = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
    cloudwatch = "arn:${local.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
  }

  pcluster_attachments = merge([
    for role_key, role_name in local.pcluster_roles : merge(
      { for policy_key, arn in local.node_managed_policies : "${role_key}-${policy_key}" => { role = role_name, policy_arn = arn } },
      { "${role_key}-data" = { role = role_name, policy_arn = aws_iam_policy.data_access.arn } },
    )
  ]...)
}

resource "aws_iam_role_policy_attachment" "pcluster" {
  for_each = local.pcluster_attachments

  role       = each.value.role
  policy_arn = each.value.policy_arn
}

resource "aws_iam_instance_profile" "pcluster_head_node" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name = aws_iam_role.pcluster_head_node[0].name
  path = "/parallelcluster/"
  role = aws_iam_role.pcluster_head_node[0].name

  tags = var.tags
}

resource "aws_iam_instance_profile" "pcluster_compute" {
  count = var.create_parallelcluster_roles ? 1 : 0

  name = aws_iam_role.pcluster_compute[0].name
  path = "/parallelcluster/"
  role = aws_iam_role.pcluster_compute[0].name

  tags = var.tags
}

# --- SageMaker HyperPod instance role ---------------------------------------------------------------

data "aws_iam_policy_document" "sagemaker_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "hyperpod" {
  count = var.create_hyperpod_role ? 1 : 0

  name               = "${local.suffix}-hyperpod-instance"
  description        = "SageMaker HyperPod instance groups (lifecycle scripts, logs, data)"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_trust.json

  tags = var.tags
}

# HyperPod attaches ENIs in our VPC (required for FSx for Lustre).
data "aws_iam_policy_document" "hyperpod_vpc" {
  statement {
    sid = "DescribeVpc"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeVpcs",
      "ec2:DescribeDhcpOptions",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ManageClusterEnis"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:CreateNetworkInterfacePermission",
      "ec2:DeleteNetworkInterface",
      "ec2:DeleteNetworkInterfacePermission",
      "ec2:DetachNetworkInterface",
    ]
    resources = [
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/*",
      "arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/*",
    ]
  }

  statement {
    sid       = "TagClusterEnis"
    actions   = ["ec2:CreateTags"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]

    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["CreateNetworkInterface"]
    }
  }
}

resource "aws_iam_role_policy" "hyperpod_vpc" {
  count = var.create_hyperpod_role ? 1 : 0

  name   = "hyperpod-vpc"
  role   = aws_iam_role.hyperpod[0].id
  policy = data.aws_iam_policy_document.hyperpod_vpc.json
}

resource "aws_iam_role_policy_attachment" "hyperpod" {
  for_each = var.create_hyperpod_role ? {
    cluster_instance = "arn:${local.partition}:iam::aws:policy/AmazonSageMakerClusterInstanceRolePolicy"
    data             = aws_iam_policy.data_access.arn
  } : {}

  role       = aws_iam_role.hyperpod[0].name
  policy_arn = each.value
}
