# A customer-managed key per account/region, shared by the S3 data bucket, FSx, EFS, EKS secrets,
# ECR and SNS in that region.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Accounts that own the encrypt principals; the grant goes to those accounts' roots with an
  # aws:PrincipalArn condition (KMS rejects a policy naming a role that does not exist yet).
  encrypt_accounts = distinct([for arn in var.encrypt_principal_arns : split(":", arn)[4]])
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: Resource "*" means this key only, and administration stays with the owning account's root.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" means this key only; every non-admin grant is action-scoped and conditioned.
  #checkov:skip=CKV_AWS_356:Key policies can only name "*" as the resource (the key itself).
  # Key administration stays with this account; IAM policies in this account decide who uses it.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # AWS services in this region that encrypt on our behalf (CloudWatch Logs for flow logs and
  # cluster logs, SNS for alarm topics).
  statement {
    sid = "RegionalServices"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type = "Service"
      identifiers = [
        "logs.${data.aws_region.current.region}.amazonaws.com",
        "sns.amazonaws.com",
        "cloudwatch.amazonaws.com",
      ]
    }
  }

  # FSx for Lustre reads and writes the KMS-encrypted data bucket through its per-file-system
  # service-linked role (data repository associations).
  statement {
    sid       = "FsxDataRepository"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/s3.data-source.lustre.fsx.amazonaws.com/*"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = length(var.decrypt_account_ids) > 0 ? [1] : []

    content {
      sid       = "CrossAccountDecrypt"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [for id in var.decrypt_account_ids : "arn:${local.partition}:iam::${id}:root"]
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.encrypt_principal_arns) > 0 ? [1] : []

    content {
      sid       = "ReplicaWriters"
      actions   = ["kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = ["*"]

      principals {
        type        = "AWS"
        identifiers = [for id in local.encrypt_accounts : "arn:${local.partition}:iam::${id}:root"]
      }

      condition {
        test     = "ArnEquals"
        variable = "aws:PrincipalArn"
        values   = var.encrypt_principal_arns
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  deletion_window_in_days = var.deletion_window_in_days
  enable_key_rotation     = true
  multi_region            = false
  policy                  = data.aws_iam_policy_document.key.json

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = var.alias_name
  target_key_id = aws_kms_key.this.key_id
}
