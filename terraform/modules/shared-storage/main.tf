# Shared file systems of one account/region:
#   FSx for Lustre PERSISTENT_2 (high-throughput scratch/datasets) linked to the regional S3 data
#   bucket by a data repository association (PERSISTENT_2 has no import_path; DRAs replace it), and
#   EFS with elastic throughput and per-tenant access points (homes, shared code).
# FSx for Lustre cannot be mounted across accounts: every account/region gets its own, populated
# from its local replica.

locals {
  lustre_ports = {
    lnet = { from = 988, to = 988 }
    rpc  = { from = 1018, to = 1023 }
  }
}

# --- security groups ---------------------------------------------------------------------------------

resource "aws_security_group" "fsx" {
  name        = "${var.name}-fsx-lustre"
  description = "FSx for Lustre servers and clients"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-fsx-lustre" })
}

resource "aws_vpc_security_group_ingress_rule" "fsx_self" {
  for_each = local.lustre_ports

  security_group_id            = aws_security_group.fsx.id
  description                  = "Lustre ${each.key} between file servers"
  ip_protocol                  = "tcp"
  from_port                    = each.value.from
  to_port                      = each.value.to
  referenced_security_group_id = aws_security_group.fsx.id
}

resource "aws_vpc_security_group_ingress_rule" "fsx_vpc" {
  for_each = local.lustre_ports

  security_group_id = aws_security_group.fsx.id
  description       = "Lustre ${each.key} from cluster nodes in the VPC"
  ip_protocol       = "tcp"
  from_port         = each.value.from
  to_port           = each.value.to
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_vpc_security_group_egress_rule" "fsx_vpc" {
  for_each = local.lustre_ports

  security_group_id = aws_security_group.fsx.id
  description       = "Lustre ${each.key} to servers and clients in the VPC"
  ip_protocol       = "tcp"
  from_port         = each.value.from
  to_port           = each.value.to
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_security_group" "efs" {
  name        = "${var.name}-efs"
  description = "EFS mount targets"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-efs" })
}

resource "aws_vpc_security_group_ingress_rule" "efs_vpc" {
  security_group_id = aws_security_group.efs.id
  description       = "NFS from cluster nodes in the VPC"
  ip_protocol       = "tcp"
  from_port         = 2049
  to_port           = 2049
  cidr_ipv4         = var.vpc_cidr_block
}

resource "aws_vpc_security_group_ingress_rule" "efs_clients" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.efs.id
  description                  = "NFS from cluster node security group"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = each.value
}

# --- FSx for Lustre ------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "fsx" {
  # FSx only delivers to log groups named /aws/fsx/...
  name              = "/aws/fsx/lustre/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_fsx_lustre_file_system" "this" {
  deployment_type             = "PERSISTENT_2"
  storage_type                = "SSD"
  storage_capacity            = var.fsx_storage_capacity_gib
  per_unit_storage_throughput = var.fsx_throughput_per_unit_storage
  file_system_type_version    = "2.15"
  data_compression_type       = "LZ4"

  subnet_ids         = [var.fsx_subnet_id]
  security_group_ids = [aws_security_group.fsx.id]
  kms_key_id         = var.kms_key_arn

  automatic_backup_retention_days   = var.fsx_backup_retention_days
  daily_automatic_backup_start_time = var.fsx_backup_retention_days > 0 ? "03:00" : null
  copy_tags_to_backups              = true
  weekly_maintenance_start_time     = "7:04:00"

  log_configuration {
    level       = "WARN_ERROR"
    destination = aws_cloudwatch_log_group.fsx.arn
  }

  tags = merge(var.tags, { Name = "${var.name}-lustre" })

  depends_on = [
    aws_vpc_security_group_ingress_rule.fsx_self,
    aws_vpc_security_group_egress_rule.fsx_vpc,
  ]
}

resource "aws_fsx_data_repository_association" "data" {
  file_system_id                   = aws_fsx_lustre_file_system.this.id
  file_system_path                 = var.fsx_file_system_path
  data_repository_path             = "s3://${var.data_repository_bucket_name}/${var.data_repository_prefix}"
  batch_import_meta_data_on_create = true
  imported_file_chunk_size         = 1024

  s3 {
    auto_import_policy {
      events = ["NEW", "CHANGED", "DELETED"]
    }

    dynamic "auto_export_policy" {
      for_each = var.fsx_auto_export ? [1] : []

      content {
        events = ["NEW", "CHANGED", "DELETED"]
      }
    }
  }

  tags = var.tags
}

# --- EFS -----------------------------------------------------------------------------------------------

resource "aws_efs_file_system" "this" {
  creation_token   = "${var.name}-shared"
  encrypted        = true
  kms_key_id       = var.kms_key_arn
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }

  lifecycle_policy {
    transition_to_primary_storage_class = "AFTER_1_ACCESS"
  }

  tags = merge(var.tags, { Name = "${var.name}-shared" })
}

resource "aws_efs_backup_policy" "this" {
  file_system_id = aws_efs_file_system.this.id

  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "this" {
  count = length(var.efs_subnet_ids)

  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = var.efs_subnet_ids[count.index]
  security_groups = [aws_security_group.efs.id]
}

resource "aws_efs_access_point" "this" {
  for_each = { for ap in var.efs_access_points : ap.name => ap }

  file_system_id = aws_efs_file_system.this.id

  posix_user {
    uid = each.value.uid
    gid = each.value.gid
  }

  root_directory {
    path = each.value.path

    creation_info {
      owner_uid   = each.value.uid
      owner_gid   = each.value.gid
      permissions = "0750"
    }
  }

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

data "aws_iam_policy_document" "efs" {
  # Clients must mount with TLS (amazon-efs-utils `-o tls`, the EFS CSI driver does by default).
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid = "MountThroughMountTargets"
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
    ]
    resources = [aws_efs_file_system.this.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "elasticfilesystem:AccessedViaMountTarget"
      values   = ["true"]
    }
  }
}

resource "aws_efs_file_system_policy" "this" {
  file_system_id = aws_efs_file_system.this.id
  policy         = data.aws_iam_policy_document.efs.json
}
