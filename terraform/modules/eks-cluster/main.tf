# EKS cluster for GPU workloads (terraform-aws-modules/eks ~> 21): Pod Identity, a system node
# group, an accelerated GPU node group with EFA in a cluster placement group, Karpenter's AWS side,
# and the EKS managed add-ons (CoreDNS, VPC CNI >= 1.18.4, kube-proxy, Pod Identity agent, EFS and
# FSx CSI drivers). Helm add-ons, NodePools and workloads come from ArgoCD (argocd-bootstrap unit).

data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  efa       = var.gpu_node_group.enable_efa

  node_policies = {
    ssm   = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
    data  = var.data_access_policy_arn
    extra = aws_iam_policy.node_extra.arn
  }
}

# Node access beyond the module's defaults: decrypt with the cluster key and any extra keys, and
# pull from the given (possibly cross-account) ECR repositories.
data "aws_iam_policy_document" "node_extra" {
  statement {
    sid       = "DecryptSharedData"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = concat([var.kms_key_arn], var.extra_kms_key_arns)
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid = "PullImages"
      actions = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
      resources = var.ecr_repository_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      # GetAuthorizationToken has no resource-level scoping.
      sid       = "RegistryLogin"
      actions   = ["ecr:GetAuthorizationToken"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_policy" "node_extra" {
  name        = "${var.cluster_name}-node-extra"
  description = "KMS decrypt and ECR pull for ${var.cluster_name} nodes"
  policy      = data.aws_iam_policy_document.node_extra.json

  tags = var.tags
}

module "eks" {
  #checkov:skip=CKV_TF_1:Registry module pinned by version constraint; registry sources have no commit hash to pin.
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 21.0"

  name               = var.cluster_name
  kubernetes_version = var.kubernetes_version

  vpc_id     = var.vpc_id
  subnet_ids = var.subnet_ids

  endpoint_private_access = true
  endpoint_public_access  = var.endpoint_public_access

  enabled_log_types                      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = var.log_retention_days
  cloudwatch_log_group_kms_key_id        = var.kms_key_arn

  create_kms_key = false
  encryption_config = {
    provider_key_arn = var.kms_key_arn
    resources        = ["secrets"]
  }

  # Access through explicit access entries only (no implicit admin for whoever ran the apply).
  authentication_mode                      = "API"
  enable_cluster_creator_admin_permissions = false
  access_entries = {
    for index, arn in var.admin_role_arns : "admin-${index}" => {
      principal_arn = arn
      policy_associations = {
        admin = {
          policy_arn = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = {
            type = "cluster"
          }
        }
      }
    }
  }

  addons = {
    eks-pod-identity-agent = {
      before_compute = true
    }
    vpc-cni = {
      before_compute = true
      addon_version  = var.vpc_cni_addon_version
      most_recent    = false
    }
    coredns    = {}
    kube-proxy = {}
    aws-efs-csi-driver = {
      pod_identity_association = [{
        role_arn        = aws_iam_role.csi["efs"].arn
        service_account = "efs-csi-controller-sa"
      }]
    }
    aws-fsx-csi-driver = {
      pod_identity_association = [{
        role_arn        = aws_iam_role.csi["fsx"].arn
        service_account = "fsx-csi-controller-sa"
      }]
    }
  }

  eks_managed_node_groups = {
    system = {
      ami_type       = "AL2023_x86_64_STANDARD"
      instance_types = var.system_node_group.instance_types
      min_size       = var.system_node_group.min_size
      max_size       = var.system_node_group.max_size
      desired_size   = var.system_node_group.desired_size

      labels = {
        "ml-clusters/pool" = "system"
      }

      iam_role_additional_policies = local.node_policies
    }

    gpu = {
      ami_type       = var.gpu_node_group.ami_type
      instance_types = var.gpu_node_group.instance_types
      capacity_type  = var.gpu_node_group.capacity_type
      min_size       = var.gpu_node_group.min_size
      max_size       = var.gpu_node_group.max_size
      desired_size   = var.gpu_node_group.desired_size

      # EFA: all interfaces on the launch template, a cluster placement group and the group's own
      # EFA security group rules; EFA + placement group need a single AZ, hence one subnet.
      enable_efa_support     = local.efa
      subnet_ids             = local.efa ? [var.subnet_ids[0]] : var.subnet_ids
      vpc_security_group_ids = local.efa && var.efa_security_group_id != null ? [var.efa_security_group_id] : []

      labels = {
        "ml-clusters/pool"       = "gpu"
        "nvidia.com/gpu.present" = "true"
      }

      taints = {
        gpu = {
          key    = "nvidia.com/gpu"
          value  = "true"
          effect = "NO_SCHEDULE"
        }
      }

      iam_role_additional_policies = local.node_policies
    }
  }

  # Karpenter's EC2NodeClass selects security groups by this tag.
  node_security_group_tags = {
    "karpenter.sh/discovery" = var.cluster_name
  }

  tags = var.tags
}

# --- CSI drivers through Pod Identity -------------------------------------------------------------

data "aws_iam_policy_document" "pod_identity_trust" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "csi" {
  for_each = toset(["efs", "fsx"])

  name               = "${var.cluster_name}-${each.key}-csi"
  description        = "${upper(each.key)} CSI driver controller of ${var.cluster_name} (EKS Pod Identity)"
  assume_role_policy = data.aws_iam_policy_document.pod_identity_trust.json

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "efs_csi" {
  role       = aws_iam_role.csi["efs"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy"
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "fsx_csi" {
  statement {
    sid       = "DescribeFileSystems"
    actions   = ["fsx:DescribeFileSystems"]
    resources = ["*"]
  }

  # Dynamic provisioning of Lustre volumes from PVCs.
  statement {
    sid = "ManageLustreVolumes"
    actions = [
      "fsx:CreateFileSystem",
      "fsx:DeleteFileSystem",
      "fsx:UpdateFileSystem",
      "fsx:TagResource",
    ]
    resources = ["arn:${local.partition}:fsx:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:file-system/*"]
  }

  statement {
    sid       = "FsxServiceLinkedRole"
    actions   = ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"]
    resources = ["arn:${local.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*"]
  }
}

resource "aws_iam_role_policy" "fsx_csi" {
  name   = "fsx-csi-driver"
  role   = aws_iam_role.csi["fsx"].id
  policy = data.aws_iam_policy_document.fsx_csi.json
}

# --- Karpenter (AWS side) -------------------------------------------------------------------------

module "karpenter" {
  #checkov:skip=CKV_TF_1:Registry module pinned by version constraint; registry sources have no commit hash to pin.
  source  = "terraform-aws-modules/eks/aws//modules/karpenter"
  version = "~> 21.0"
  count   = var.enable_karpenter ? 1 : 0

  cluster_name = module.eks.cluster_name

  node_iam_role_use_name_prefix     = false
  node_iam_role_name                = "${var.cluster_name}-karpenter-node"
  node_iam_role_additional_policies = local.node_policies

  tags = var.tags
}
