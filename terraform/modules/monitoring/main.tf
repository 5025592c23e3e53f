# Monitoring of the shared layer: S3 replication (RTC latency and failed operations per rule), FSx
# for Lustre capacity and throughput, an SNS topic for alarms, and an Amazon Managed Prometheus
# workspace the clusters' DCGM exporters remote-write GPU metrics to.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.region
  rules  = { for rule in var.replication_rules : rule.rule_id => rule }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# --- S3 replication ---------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "replication_latency" {
  for_each = local.rules

  alarm_name          = "${var.name}-replication-latency-${each.key}"
  alarm_description   = "Replication of ${var.source_bucket_name} to ${each.value.destination_bucket_name} (rule ${each.key}) is slower than the RTC threshold."
  namespace           = "AWS/S3"
  metric_name         = "ReplicationLatency"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.replication_latency_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  dimensions = {
    SourceBucket      = var.source_bucket_name
    DestinationBucket = each.value.destination_bucket_name
    RuleId            = each.key
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "replication_failed" {
  for_each = local.rules

  alarm_name          = "${var.name}-replication-failed-${each.key}"
  alarm_description   = "Objects failed to replicate from ${var.source_bucket_name} to ${each.value.destination_bucket_name} (rule ${each.key})."
  namespace           = "AWS/S3"
  metric_name         = "OperationsFailedReplication"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"

  dimensions = {
    SourceBucket      = var.source_bucket_name
    DestinationBucket = each.value.destination_bucket_name
    RuleId            = each.key
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = var.tags
}

# --- FSx for Lustre ---------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "fsx_free_capacity" {
  for_each = toset(var.fsx_file_system_ids)

  alarm_name          = "${var.name}-fsx-free-capacity-${each.value}"
  alarm_description   = "FSx for Lustre ${each.value} is running out of space."
  namespace           = "AWS/FSx"
  metric_name         = "FreeDataStorageCapacity"
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.fsx_free_storage_threshold_bytes
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"

  dimensions = {
    FileSystemId = each.value
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
  ok_actions    = [aws_sns_topic.alarms.arn]

  tags = var.tags
}

resource "aws_cloudwatch_dashboard" "estate" {
  dashboard_name = "${var.name}-estate"

  dashboard_body = jsonencode({
    widgets = concat(
      [
        {
          type   = "metric"
          x      = 0
          y      = 0
          width  = 12
          height = 6
          properties = {
            title   = "S3 replication latency (s) per rule"
            region  = local.region
            view    = "timeSeries"
            stat    = "Maximum"
            period  = 300
            metrics = [for id, rule in local.rules : ["AWS/S3", "ReplicationLatency", "SourceBucket", var.source_bucket_name, "DestinationBucket", rule.destination_bucket_name, "RuleId", id]]
            annotations = {
              horizontal = [{ label = "RTC threshold", value = var.replication_latency_threshold_seconds }]
            }
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 0
          width  = 12
          height = 6
          properties = {
            title  = "S3 replication: failed operations and bytes pending"
            region = local.region
            view   = "timeSeries"
            period = 300
            metrics = flatten([for id, rule in local.rules : [
              ["AWS/S3", "OperationsFailedReplication", "SourceBucket", var.source_bucket_name, "DestinationBucket", rule.destination_bucket_name, "RuleId", id, { stat = "Sum" }],
              ["AWS/S3", "BytesPendingReplication", "SourceBucket", var.source_bucket_name, "DestinationBucket", rule.destination_bucket_name, "RuleId", id, { stat = "Maximum", yAxis = "right" }],
            ]])
          }
        },
      ],
      length(var.fsx_file_system_ids) == 0 ? [] : [
        {
          type   = "metric"
          x      = 0
          y      = 6
          width  = 12
          height = 6
          properties = {
            title   = "FSx for Lustre throughput (bytes/period)"
            region  = local.region
            view    = "timeSeries"
            stat    = "Sum"
            period  = 60
            metrics = flatten([for id in var.fsx_file_system_ids : [["AWS/FSx", "DataReadBytes", "FileSystemId", id], ["AWS/FSx", "DataWriteBytes", "FileSystemId", id]]])
          }
        },
        {
          type   = "metric"
          x      = 12
          y      = 6
          width  = 12
          height = 6
          properties = {
            title   = "FSx for Lustre free capacity (bytes)"
            region  = local.region
            view    = "timeSeries"
            stat    = "Minimum"
            period  = 300
            metrics = [for id in var.fsx_file_system_ids : ["AWS/FSx", "FreeDataStorageCapacity", "FileSystemId", id]]
          }
        },
      ],
    )
  })
}

# --- Amazon Managed Prometheus for DCGM exporter metrics ---------------------------------------------

resource "aws_cloudwatch_log_group" "amp" {
  name              = "/aws/vendedlogs/prometheus/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_prometheus_workspace" "gpu" {
  alias       = "${var.name}-gpu"
  kms_key_arn = var.kms_key_arn

  logging_configuration {
    log_group_arn = "${aws_cloudwatch_log_group.amp.arn}:*"
  }

  tags = var.tags
}
