# Hub-and-spoke replication of the central data bucket to every replica:
#   same account, cross-region | cross-account, same region | cross-account, cross-region.
# One rule per (destination, prefix); RTC (15 min) with replication metrics on every rule; objects
# handed to the destination account's ownership for cross-account rules; replicas re-encrypted with
# each destination's KMS key.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition      = data.aws_partition.current.partition
  source_account = data.aws_caller_identity.current.account_id
  source_region  = data.aws_region.current.region

  # Priorities are unique across the configuration: destination-major, prefix-minor, so rules of
  # the first destination come first and every rule's priority is stable while lists only grow.
  rules = flatten([
    for d_index, d in var.destinations : [
      for p_index, p in var.prefix_rules : {
        id            = "${d.name}-${trimsuffix(p.prefix, "/")}"
        priority      = d_index * length(var.prefix_rules) + p_index + 1
        prefix        = p.prefix
        storage_class = p.storage_class
        bucket_arn    = d.bucket_arn
        bucket_name   = element(split(":::", d.bucket_arn), 1)
        account_id    = d.account_id
        region        = d.region
        kms_key_arn   = d.kms_key_arn
        cross_account = d.account_id != local.source_account
        cross_region  = d.region != local.source_region
      }
    ]
  ])
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.source_account]
    }
  }
}

resource "aws_iam_role" "replication" {
  name                 = var.role_name
  description          = "S3 replication from ${var.source_bucket_name} to its regional replicas"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = var.tags
}

data "aws_iam_policy_document" "replication" {
  statement {
    sid       = "ReadSourceConfiguration"
    actions   = ["s3:GetReplicationConfiguration", "s3:ListBucket"]
    resources = [var.source_bucket_arn]
  }

  statement {
    sid = "ReadSourceObjects"
    actions = [
      "s3:GetObjectVersionForReplication",
      "s3:GetObjectVersionAcl",
      "s3:GetObjectVersionTagging",
    ]
    resources = ["${var.source_bucket_arn}/*"]
  }

  statement {
    sid = "WriteReplicas"
    actions = [
      "s3:ReplicateObject",
      "s3:ReplicateDelete",
      "s3:ReplicateTags",
      "s3:ObjectOwnerOverrideToBucketOwner",
    ]
    resources = [for d in var.destinations : "${d.bucket_arn}/*"]
  }

  statement {
    sid       = "DecryptSource"
    actions   = ["kms:Decrypt"]
    resources = [var.source_kms_key_arn]

    condition {
      test     = "StringLike"
      variable = "kms:ViaService"
      values   = ["s3.${local.source_region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    for_each = { for d in var.destinations : d.name => d }

    content {
      sid       = "EncryptReplicas${replace(title(replace(statement.key, "-", " ")), " ", "")}"
      actions   = ["kms:Encrypt", "kms:GenerateDataKey"]
      resources = [statement.value.kms_key_arn]

      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["s3.${statement.value.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "replication" {
  name   = "replicate-${var.source_bucket_name}"
  role   = aws_iam_role.replication.id
  policy = data.aws_iam_policy_document.replication.json
}

resource "aws_s3_bucket_replication_configuration" "this" {
  bucket = var.source_bucket_name
  role   = aws_iam_role.replication.arn

  dynamic "rule" {
    for_each = local.rules

    content {
      id       = rule.value.id
      priority = rule.value.priority
      status   = "Enabled"

      filter {
        prefix = rule.value.prefix
      }

      delete_marker_replication {
        status = "Enabled"
      }

      source_selection_criteria {
        sse_kms_encrypted_objects {
          status = "Enabled"
        }
      }

      destination {
        bucket        = rule.value.bucket_arn
        storage_class = rule.value.storage_class
        account       = rule.value.cross_account ? rule.value.account_id : null

        dynamic "access_control_translation" {
          for_each = rule.value.cross_account ? [1] : []

          content {
            owner = "Destination"
          }
        }

        encryption_configuration {
          replica_kms_key_id = rule.value.kms_key_arn
        }

        replication_time {
          status = "Enabled"

          time {
            minutes = var.replication_time_minutes
          }
        }

        metrics {
          status = "Enabled"

          event_threshold {
            minutes = var.replication_time_minutes
          }
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.replication]
}
