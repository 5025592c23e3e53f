output "bucket_name" {
  description = "Name of the data bucket."
  value       = aws_s3_bucket.data.id
}

output "bucket_arn" {
  description = "ARN of the data bucket."
  value       = aws_s3_bucket.data.arn
}

output "bucket_region" {
  description = "Region of the data bucket."
  value       = data.aws_region.current.region
}

output "bucket_regional_domain_name" {
  description = "Regional domain name of the data bucket."
  value       = aws_s3_bucket.data.bucket_regional_domain_name
}

output "account_id" {
  description = "Account owning the data bucket (replication uses it to decide on ownership translation)."
  value       = local.account_id
}

output "kms_key_arn" {
  description = "KMS key encrypting the bucket's objects (replication encrypts replicas with it)."
  value       = var.kms_key_arn
}

output "bucket_role" {
  description = "\"central\" or \"replica\"."
  value       = var.bucket_role
}

output "replication_source_bucket_arn" {
  description = "For a replica: the central bucket replicating into it."
  value       = var.replication_source_bucket_arn
}

output "access_log_bucket_name" {
  description = "Name of the bucket receiving this bucket's server access logs."
  value       = aws_s3_bucket.logs.id
}
