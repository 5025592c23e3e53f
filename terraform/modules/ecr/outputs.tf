output "repository_arns" {
  description = "ARNs of the repositories, in the order of var.repository_names (grant ECR pull on these to node roles)."
  value       = [for name in var.repository_names : aws_ecr_repository.this[name].arn]
}

output "repository_urls" {
  description = "Map of repository name to its URL."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}

output "registry_id" {
  description = "Registry (account) ID."
  value       = one(distinct([for repo in aws_ecr_repository.this : repo.registry_id]))
}
