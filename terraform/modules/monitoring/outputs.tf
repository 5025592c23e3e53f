output "alarm_topic_arn" {
  description = "SNS topic receiving every alarm."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of replication and FSx."
  value       = aws_cloudwatch_dashboard.estate.dashboard_name
}

output "replication_alarm_names" {
  description = "Map of replication rule ID to its latency and failed-operations alarm names (the monitoring sensors read their state)."
  value = {
    for id in keys(local.rules) : id => {
      latency = aws_cloudwatch_metric_alarm.replication_latency[id].alarm_name
      failed  = aws_cloudwatch_metric_alarm.replication_failed[id].alarm_name
    }
  }
}

output "fsx_alarm_names" {
  description = "Map of FSx file system ID to its free-capacity alarm name."
  value       = { for id, alarm in aws_cloudwatch_metric_alarm.fsx_free_capacity : id => alarm.alarm_name }
}

output "amp_workspace_id" {
  description = "ID of the Amazon Managed Prometheus workspace."
  value       = aws_prometheus_workspace.gpu.id
}

output "amp_workspace_arn" {
  description = "ARN of the AMP workspace."
  value       = aws_prometheus_workspace.gpu.arn
}

output "amp_remote_write_url" {
  description = "Remote-write URL for the DCGM exporter's Prometheus agent."
  value       = "${aws_prometheus_workspace.gpu.prometheus_endpoint}api/v1/remote_write"
}
