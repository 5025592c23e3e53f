output "data_access_policy_arn" {
  description = "Managed policy granting dataset read / checkpoint write on the data buckets and use of their KMS keys; attach it to any node role."
  value       = aws_iam_policy.data_access.arn
}

output "execution_role_arn" {
  description = "ARN of TerraformExecutionRole (null unless create_account_roles)."
  value       = one(aws_iam_role.execution[*].arn)
}

output "observer_role_arn" {
  description = "ARN of the read-only observer role for the monitoring sensors (null unless create_account_roles)."
  value       = one(aws_iam_role.observer[*].arn)
}

output "pcluster_head_node_role_arn" {
  description = "ARN of the ParallelCluster head-node role (null unless create_parallelcluster_roles)."
  value       = one(aws_iam_role.pcluster_head_node[*].arn)
}

output "pcluster_compute_role_arn" {
  description = "ARN of the ParallelCluster compute-node role (null unless create_parallelcluster_roles)."
  value       = one(aws_iam_role.pcluster_compute[*].arn)
}

output "pcluster_head_node_instance_profile_arn" {
  description = "ARN of the ParallelCluster head-node instance profile."
  value       = one(aws_iam_instance_profile.pcluster_head_node[*].arn)
}

output "pcluster_compute_instance_profile_arn" {
  description = "ARN of the ParallelCluster compute-node instance profile."
  value       = one(aws_iam_instance_profile.pcluster_compute[*].arn)
}

output "hyperpod_instance_role_arn" {
  description = "ARN of the HyperPod instance-group execution role (null unless create_hyperpod_role)."
  value       = one(aws_iam_role.hyperpod[*].arn)
}

output "hyperpod_instance_role_name" {
  description = "Name of the HyperPod instance-group execution role."
  value       = one(aws_iam_role.hyperpod[*].name)
}
