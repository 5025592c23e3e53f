output "replication_role_arn" {
  description = "ARN of the replication role (replica bucket policies and KMS keys trust it)."
  value       = aws_iam_role.replication.arn
}

output "source_bucket_name" {
  description = "Name of the central bucket."
  value       = var.source_bucket_name
}

output "rule_ids" {
  description = "IDs of the replication rules, in priority order."
  value       = [for r in local.rules : r.id]
}

output "rules" {
  description = "One object per replication rule: rule_id, priority, prefix, storage_class, destination_bucket_name, destination_bucket_arn, destination_account_id, destination_region, cross_account. The monitoring unit alarms on ReplicationLatency / OperationsFailedReplication per rule."
  value = [for r in local.rules : {
    rule_id                 = r.id
    priority                = r.priority
    prefix                  = r.prefix
    storage_class           = r.storage_class
    destination_bucket_name = r.bucket_name
    destination_bucket_arn  = r.bucket_arn
    destination_account_id  = r.account_id
    destination_region      = r.region
    cross_account           = r.cross_account
  }]
}
