output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster (a HyperPod EKS orchestrator attaches to it)."
  value       = module.eks.cluster_arn
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API endpoint."
  value       = module.eks.cluster_certificate_authority_data
}

output "cluster_version" {
  description = "Kubernetes version of the control plane."
  value       = module.eks.cluster_version
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's OIDC provider."
  value       = module.eks.oidc_provider_arn
}

output "cluster_security_group_id" {
  description = "Security group of the control plane."
  value       = module.eks.cluster_security_group_id
}

output "node_security_group_id" {
  description = "Shared node security group (tagged for Karpenter discovery)."
  value       = module.eks.node_security_group_id
}

output "gpu_node_group_iam_role_arn" {
  description = "IAM role of the managed GPU node group."
  value       = module.eks.eks_managed_node_groups["gpu"].iam_role_arn
}

output "karpenter_node_iam_role_name" {
  description = "Node role Karpenter's EC2NodeClass uses (null without Karpenter)."
  value       = one(module.karpenter[*].node_iam_role_name)
}

output "karpenter_node_iam_role_arn" {
  description = "ARN of the Karpenter node role (null without Karpenter)."
  value       = one(module.karpenter[*].node_iam_role_arn)
}

output "karpenter_queue_name" {
  description = "SQS interruption queue Karpenter watches (null without Karpenter)."
  value       = one(module.karpenter[*].queue_name)
}

output "karpenter_controller_role_arn" {
  description = "IAM role of the Karpenter controller, bound through Pod Identity (null without Karpenter)."
  value       = one(module.karpenter[*].iam_role_arn)
}
