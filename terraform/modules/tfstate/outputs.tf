output "bucket_name" {
  description = "Name of the state bucket (the remote_state bucket of root.hcl)."
  value       = aws_s3_bucket.state.id
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.state.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key encrypting state."
  value       = aws_kms_key.state.arn
}

output "access_log_bucket_name" {
  description = "Name of the bucket receiving the state bucket's server access logs."
  value       = aws_s3_bucket.logs.id
}
