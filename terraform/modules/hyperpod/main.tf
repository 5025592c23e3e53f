# SageMaker HyperPod through hashicorp/awscc (awscc_sagemaker_cluster): Slurm or EKS orchestrator,
# controller/login/compute instance groups, deep health checks on start, automatic node recovery,
# optional Training Plan per group. Lifecycle scripts are uploaded to a "sagemaker-" bucket (the
# only buckets the managed instance policy can read); on_create.sh is the entrypoint and mounts FSx
# for Lustre from provisioning_parameters.json.

provider "awscc" {
  region = var.region

  assume_role = {
    role_arn     = var.provider_role_arn
    session_name = "ml-clusters-hyperpod"
  }
}

locals {
  scripts_prefix = "lifecycle-scripts/"
  source_s3_uri  = "s3://${aws_s3_bucket.lifecycle.id}/${local.scripts_prefix}"
  script_files   = fileset(var.lifecycle_scripts_dir, "**")

  controller_groups = [for g in var.instance_groups : g.name if g.role == "controller"]
  login_groups      = [for g in var.instance_groups : g.name if g.role == "login"]
  compute_groups    = [for g in var.instance_groups : g if g.role == "compute"]

  # Read by on_create.sh: which group plays which Slurm role, and what to mount.
  provisioning_parameters = {
    version          = "1.0.0"
    workload_manager = var.orchestrator == "slurm" ? "slurm" : "eks"
    controller_group = try(local.controller_groups[0], null)
    login_group      = try(local.login_groups[0], null)
    worker_groups = [for g in local.compute_groups : {
      instance_group_name = g.name
      partition_name      = g.name
    }]
    fsx_dns_name  = var.fsx_dns_name
    fsx_mountname = var.fsx_mount_name
  }

  tags = merge(var.tags, { "ml-clusters:unit" = var.unit_path })
}

# --- lifecycle-script bucket --------------------------------------------------------------------------

resource "aws_s3_bucket" "lifecycle" {
  #checkov:skip=CKV_AWS_18:Holds only the Git-tracked lifecycle scripts, written by Terraform; changes are audited in Git and CloudTrail.
  #checkov:skip=CKV_AWS_144:Scripts are re-uploaded from Git by Terraform; a cross-region copy adds nothing.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the lifecycle-script bucket.
  bucket = var.lifecycle_bucket_name

  tags = local.tags
}

resource "aws_s3_bucket_ownership_controls" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id

  rule {
    id     = "old-script-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 90
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.lifecycle]
}

data "aws_iam_policy_document" "lifecycle_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.lifecycle.arn, "${aws_s3_bucket.lifecycle.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "lifecycle" {
  bucket = aws_s3_bucket.lifecycle.id
  policy = data.aws_iam_policy_document.lifecycle_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.lifecycle]
}

resource "aws_s3_object" "script" {
  for_each = local.script_files

  bucket                 = aws_s3_bucket.lifecycle.id
  key                    = "${local.scripts_prefix}${each.value}"
  source                 = "${var.lifecycle_scripts_dir}/${each.value}"
  source_hash            = filemd5("${var.lifecycle_scripts_dir}/${each.value}")
  content_type           = endswith(each.value, ".sh") ? "text/x-shellscript" : "application/octet-stream"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = local.tags
}

resource "aws_s3_object" "provisioning_parameters" {
  bucket                 = aws_s3_bucket.lifecycle.id
  key                    = "${local.scripts_prefix}provisioning_parameters.json"
  content                = jsonencode(local.provisioning_parameters)
  content_type           = "application/json"
  server_side_encryption = "aws:kms"
  kms_key_id             = var.kms_key_arn

  tags = local.tags
}

# --- node permissions beyond the iam unit's role ------------------------------------------------------

data "aws_iam_policy_document" "nodes" {
  statement {
    sid       = "DecryptScriptsAndImages"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = concat([var.kms_key_arn], var.extra_kms_key_arns)
  }

  dynamic "statement" {
    for_each = length(var.ecr_repository_arns) > 0 ? [1] : []

    content {
      sid       = "PullJobImages"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
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

resource "aws_iam_role_policy" "nodes" {
  name   = "${var.cluster_name}-nodes"
  role   = var.instance_role_name
  policy = data.aws_iam_policy_document.nodes.json
}

# --- the cluster ---------------------------------------------------------------------------------------

resource "awscc_sagemaker_cluster" "this" {
  cluster_name  = var.cluster_name
  node_recovery = var.node_recovery

  orchestrator = var.orchestrator == "eks" ? {
    eks = {
      cluster_arn = var.eks_cluster_arn
    }
  } : null

  vpc_config = {
    security_group_ids = var.security_group_ids
    subnets            = var.subnet_ids
  }

  instance_groups = [for g in var.instance_groups : {
    instance_group_name = g.name
    instance_type       = g.instance_type
    instance_count      = g.instance_count
    execution_role      = var.instance_role_arn
    threads_per_core    = g.threads_per_core
    training_plan_arn   = g.training_plan_arn

    life_cycle_config = {
      source_s3_uri = local.source_s3_uri
      on_create     = "on_create.sh"
    }

    instance_storage_configs = [{
      ebs_volume_config = {
        volume_size_in_gb = g.ebs_volume_gib
        volume_kms_key_id = var.kms_key_arn
      }
    }]

    on_start_deep_health_checks = length(g.deep_health_checks) > 0 ? g.deep_health_checks : null
  }]

  tags = [for key, value in local.tags : { key = key, value = value }]

  lifecycle {
    precondition {
      condition     = var.orchestrator != "slurm" || length(local.controller_groups) == 1
      error_message = "A Slurm HyperPod cluster needs exactly one instance group with role = \"controller\"."
    }

    precondition {
      condition     = var.orchestrator != "eks" || var.eks_cluster_arn != null
      error_message = "orchestrator = \"eks\" needs eks_cluster_arn."
    }

    precondition {
      condition     = contains(local.script_files, "on_create.sh")
      error_message = "lifecycle_scripts_dir must contain the on_create.sh entrypoint."
    }
  }

  depends_on = [
    aws_s3_object.script,
    aws_s3_object.provisioning_parameters,
    aws_iam_role_policy.nodes,
  ]
}
