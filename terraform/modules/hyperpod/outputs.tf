output "cluster_arn" {
  description = "ARN of the HyperPod cluster."
  value       = awscc_sagemaker_cluster.this.cluster_arn
}

output "cluster_name" {
  description = "Name of the HyperPod cluster."
  value       = awscc_sagemaker_cluster.this.cluster_name
}

output "cluster_status" {
  description = "Status of the HyperPod cluster at the last apply."
  value       = awscc_sagemaker_cluster.this.cluster_status
}

output "lifecycle_bucket_name" {
  description = "Bucket holding the lifecycle scripts (sagemaker- prefix)."
  value       = aws_s3_bucket.lifecycle.id
}

output "lifecycle_scripts_s3_uri" {
  description = "S3 URI the instance groups run their lifecycle scripts from."
  value       = local.source_s3_uri
}

output "instance_group_names" {
  description = "Names of the instance groups."
  value       = [for g in var.instance_groups : g.name]
}
