output "cluster_name" {
  description = "Name of the cluster."
  value       = aws-parallelcluster_cluster.this.cluster_name
}

output "cluster_status" {
  description = "Status of the cluster as reported by the ParallelCluster API."
  value       = aws-parallelcluster_cluster.this.cluster_status
}

output "cloudformation_stack_arn" {
  description = "ARN of the cluster's CloudFormation stack."
  value       = aws-parallelcluster_cluster.this.cloudformation_stack_arn
}

output "parallelcluster_version" {
  description = "ParallelCluster version the cluster runs."
  value       = aws-parallelcluster_cluster.this.version
}

output "queue_names" {
  description = "Slurm queues of the rendered configuration."
  value       = [for queue in local.queues : queue.Name]
}

output "capacity_block_queue_enabled" {
  description = "Whether the CAPACITY_BLOCK queue is part of the cluster."
  value       = local.has_capacity_block
}
