variable "cluster_name" {
  description = "Name of the EKS cluster, e.g. \"ml-training-main-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,45}$", var.cluster_name))
    error_message = "cluster_name must be 2-46 letters, digits or hyphens starting with a letter (derived IAM role names must stay within 64 characters)."
  }
}

variable "kubernetes_version" {
  description = "Kubernetes <major>.<minor> version of the control plane (EKS 1.29-1.34; HyperPod's EKS orchestrator supports 1.28-1.34)."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.(29|3[0-4])$", var.kubernetes_version))
    error_message = "kubernetes_version must be between 1.29 and 1.34."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the control plane ENIs and the node groups. The first one also hosts the EFA GPU node group (EFA + placement group need one AZ)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "EKS needs subnets in at least two availability zones."
  }
}

variable "efa_security_group_id" {
  description = "The VPC's EFA security group (all traffic, self only); attached to the GPU node group when EFA is enabled. Null to rely on the node group's own EFA rules only."
  type        = string
  default     = null
}

variable "kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes secrets and the control-plane log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "data_access_policy_arn" {
  description = "Managed policy (from the iam unit) granting the node roles access to the data buckets."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.data_access_policy_arn))
    error_message = "data_access_policy_arn must be an IAM policy ARN."
  }
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin through EKS access entries (the TerraformExecutionRole, so argocd-bootstrap can reach the API)."
  type        = list(string)

  validation {
    condition     = length(var.admin_role_arns) > 0 && alltrue([for arn in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "admin_role_arns must list at least one IAM role ARN."
  }
}

variable "endpoint_public_access" {
  description = "Expose the Kubernetes API publicly. Off by default: CI and ArgoCD reach it from inside the VPC."
  type        = bool
  default     = false
}

variable "vpc_cni_addon_version" {
  description = "Version of the Amazon VPC CNI add-on, pinned. EFA on EKS needs VPC CNI >= 1.18.4."
  type        = string

  validation {
    condition = can(regex("^v\\d+\\.\\d+\\.\\d+-eksbuild\\.\\d+$", var.vpc_cni_addon_version)) && try(
      tonumber(regex("^v(\\d+)\\.", var.vpc_cni_addon_version)[0]) > 1 ||
      tonumber(regex("^v\\d+\\.(\\d+)\\.", var.vpc_cni_addon_version)[0]) > 18 ||
      (tonumber(regex("^v\\d+\\.(\\d+)\\.", var.vpc_cni_addon_version)[0]) == 18 && tonumber(regex("^v\\d+\\.\\d+\\.(\\d+)-", var.vpc_cni_addon_version)[0]) >= 4),
      false
    )
    error_message = "vpc_cni_addon_version must look like v1.19.2-eksbuild.1 and be at least v1.18.4 (required for EFA)."
  }
}

variable "system_node_group" {
  description = "Always-on node group for cluster add-ons, ArgoCD and the Karpenter controller."
  type = object({
    instance_types = optional(list(string), ["m6i.xlarge"])
    min_size       = optional(number, 2)
    max_size       = optional(number, 4)
    desired_size   = optional(number, 2)
  })
  default = {}
}

variable "gpu_node_group" {
  description = "Managed GPU node group. ami_type AL2023_x86_64_NVIDIA ships the NVIDIA driver and EFA software; enable_efa exposes every EFA interface and puts the group in a cluster placement group in the first subnet's AZ."
  type = object({
    instance_types = list(string)
    ami_type       = optional(string, "AL2023_x86_64_NVIDIA")
    min_size       = optional(number, 0)
    max_size       = optional(number, 4)
    desired_size   = optional(number, 0)
    enable_efa     = optional(bool, true)
    capacity_type  = optional(string, "ON_DEMAND")
  })

  validation {
    condition     = contains(["AL2023_x86_64_NVIDIA", "AL2023_x86_64_NEURON", "AL2023_ARM_64_NVIDIA"], var.gpu_node_group.ami_type)
    error_message = "gpu_node_group.ami_type must be an accelerated AL2023 AMI type (AL2023_x86_64_NVIDIA, AL2023_x86_64_NEURON, AL2023_ARM_64_NVIDIA)."
  }

  validation {
    condition     = var.gpu_node_group.min_size <= var.gpu_node_group.desired_size && var.gpu_node_group.desired_size <= var.gpu_node_group.max_size
    error_message = "gpu_node_group sizes must satisfy min_size <= desired_size <= max_size."
  }

  validation {
    condition     = contains(["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"], var.gpu_node_group.capacity_type)
    error_message = "gpu_node_group.capacity_type must be ON_DEMAND, SPOT or CAPACITY_BLOCK."
  }
}

variable "enable_karpenter" {
  description = "Create Karpenter's AWS side (controller role with Pod Identity, node role, interruption queue). The controller and its NodePools are installed by ArgoCD from terraform/gitops."
  type        = bool
  default     = true
}

variable "ecr_repository_arns" {
  description = "ECR repositories (possibly in the hub account) the nodes pull from; cross-account pulls also need the repository policy of the ecr unit."
  type        = list(string)
  default     = []
}

variable "extra_kms_key_arns" {
  description = "Further KMS keys nodes may decrypt with (e.g. the hub key encrypting ECR images, for a workload-account cluster)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the control-plane log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
