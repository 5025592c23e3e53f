output "api_stack_name" {
  description = "CloudFormation stack of the API (the aws-parallelcluster provider's api_stack_name)."
  value       = var.api_stack_name
}

output "parallelcluster_version" {
  description = "ParallelCluster version served by the API."
  value       = var.parallelcluster_version
}

output "stack_outputs" {
  description = "Outputs of the API stack (endpoint URL, user role ARN, ...)."
  value       = module.pcluster_api.parallelcluster
}
