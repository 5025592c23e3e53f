# One VPC per account/region shared by every cluster type.
#
# Subnet plan for a /16 (the CIDR math is tested in tests/cidr_plan.tftest.hcl):
#   private compute subnets: /18 each, the first three quarters of the VPC (16,379 usable IPs per AZ:
#                            a HyperPod EKS p5 node alone consumes 81 IPs, a Slurm p5 node 32)
#   public NAT subnets:      /24 each, carved from the last quarter (10.x.192.0/24, 10.x.193.0/24, ...)

data "aws_region" "current" {}

locals {
  private_subnets = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 2, i)]
  public_subnets  = [for i, _ in var.azs : cidrsubnet(var.vpc_cidr, 8, 192 + i)]
}

module "vpc" {
  #checkov:skip=CKV_TF_1:Registry module pinned by version constraint; registry sources have no commit hash to pin.
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 6.0"

  name = var.name
  cidr = var.vpc_cidr
  azs  = var.azs

  private_subnets = local.private_subnets
  public_subnets  = local.public_subnets

  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway

  enable_dns_hostnames = true
  enable_dns_support   = true

  # Lock down the default security group: nothing may rely on it.
  manage_default_security_group  = true
  default_security_group_ingress = []
  default_security_group_egress  = []

  enable_flow_log                                 = var.enable_flow_logs
  create_flow_log_cloudwatch_log_group            = var.enable_flow_logs
  create_flow_log_cloudwatch_iam_role             = var.enable_flow_logs
  flow_log_cloudwatch_log_group_retention_in_days = var.flow_log_retention_days
  flow_log_max_aggregation_interval               = 60

  # Karpenter discovers subnets by this tag; the ELB tags let the AWS Load Balancer Controller work.
  private_subnet_tags = {
    "karpenter.sh/discovery"          = var.name
    "kubernetes.io/role/internal-elb" = "1"
    "ml-clusters:subnet-tier"         = "compute"
  }
  public_subnet_tags = {
    "kubernetes.io/role/elb"  = "1"
    "ml-clusters:subnet-tier" = "public"
  }

  tags = var.tags
}

# EFA requires a security group that allows ALL traffic to and from itself. Egress must also be
# self-referencing: an EFA SG with a 0.0.0.0/0 egress rule breaks OS-bypass traffic. Instances get
# their general egress from a second security group (the cluster's own), never from this one.
resource "aws_security_group" "efa" {
  #checkov:skip=CKV2_AWS_5:Attached by the cluster units (EKS GPU node group, ParallelCluster queues, HyperPod) that consume this output.
  name        = "${var.name}-efa"
  description = "EFA: all traffic between members of this group only"
  vpc_id      = module.vpc.vpc_id

  tags = merge(var.tags, {
    Name                     = "${var.name}-efa"
    "karpenter.sh/discovery" = var.name
  })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "efa_self" {
  security_group_id            = aws_security_group.efa.id
  description                  = "EFA all traffic from members of this group"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.efa.id
}

resource "aws_vpc_security_group_egress_rule" "efa_self" {
  security_group_id            = aws_security_group.efa.id
  description                  = "EFA all traffic to members of this group"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.efa.id
}

# General egress for cluster nodes that carry the EFA group (which may not have it): HTTPS to AWS
# APIs, ECR and S3 (through the gateway endpoint), and anything inside the VPC (FSx for Lustre, EFS,
# Slurm, DNS). HyperPod instance groups get both groups.
resource "aws_security_group" "node_egress" {
  #checkov:skip=CKV2_AWS_5:Attached by the cluster units (HyperPod instance groups) that consume this output.
  name        = "${var.name}-node-egress"
  description = "Cluster nodes: HTTPS out, anything within the VPC"
  vpc_id      = module.vpc.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-node-egress" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "node_https" {
  security_group_id = aws_security_group.node_egress.id
  description       = "HTTPS to AWS APIs, ECR and package mirrors (through NAT or endpoints)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "node_vpc" {
  security_group_id = aws_security_group.node_egress.id
  description       = "Everything inside the VPC (FSx for Lustre, EFS, Slurm, DNS)"
  ip_protocol       = "-1"
  cidr_ipv4         = var.vpc_cidr
}

# Tightly coupled GPU training needs its instances close together: one cluster placement group per
# VPC (a cluster placement group binds to the AZ of its first instance).
resource "aws_placement_group" "gpu" {
  name     = "${var.name}-gpu-cluster"
  strategy = "cluster"

  tags = var.tags
}

# Data to and from S3 (datasets, checkpoints, replication targets) stays off the NAT gateways.
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = module.vpc.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = concat(module.vpc.private_route_table_ids, module.vpc.public_route_table_ids)

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}
