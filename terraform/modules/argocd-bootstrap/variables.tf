variable "cluster_name" {
  description = "Name of the EKS cluster to bootstrap."
  type        = string
}

variable "cluster_endpoint" {
  description = "Kubernetes API endpoint of the cluster."
  type        = string

  validation {
    condition     = startswith(var.cluster_endpoint, "https://")
    error_message = "cluster_endpoint must be an https:// URL."
  }
}

variable "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the cluster."
  type        = string
}

variable "cluster_purpose" {
  description = "What the cluster is for; ApplicationSets select add-ons and NodePools by it."
  type        = string

  validation {
    condition     = contains(["training", "inference"], var.cluster_purpose)
    error_message = "cluster_purpose must be \"training\" or \"inference\"."
  }
}

variable "account_id" {
  description = "AWS account of the cluster."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account ID."
  }
}

variable "account_name" {
  description = "Short account name (main, secondary)."
  type        = string
}

variable "aws_region" {
  description = "Region of the cluster."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster (GitOps Bridge metadata)."
  type        = string
}

variable "efa_security_group_id" {
  description = "The VPC's EFA security group; the Karpenter GPU EC2NodeClass attaches it to GPU nodes."
  type        = string
}

variable "kubeconfig_role_arn" {
  description = "Role assumed by `aws eks get-token` to reach the API (must be a cluster admin through an access entry)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.kubeconfig_role_arn))
    error_message = "kubeconfig_role_arn must be an IAM role ARN."
  }
}

variable "karpenter_node_iam_role_name" {
  description = "Karpenter node role name (rendered into the EC2NodeClass by ArgoCD). Null when the cluster has no Karpenter."
  type        = string
  default     = null
}

variable "karpenter_queue_name" {
  description = "Karpenter interruption queue name. Null when the cluster has no Karpenter."
  type        = string
  default     = null
}

variable "gitops_repo_url" {
  description = "Git repository ArgoCD syncs from (this monorepo)."
  type        = string

  validation {
    condition     = can(regex("^(https://|ssh://|git@)", var.gitops_repo_url))
    error_message = "gitops_repo_url must be an https://, ssh:// or git@ URL."
  }
}

variable "gitops_repo_revision" {
  description = "Branch, tag or commit ArgoCD tracks."
  type        = string
  default     = "main"
}

variable "gitops_repo_path" {
  description = "Path of the GitOps tree in the repository; the app-of-apps points at <path>/bootstrap."
  type        = string
  default     = "terraform/gitops"
}

variable "argocd_chart_version" {
  description = "Version of the argo-cd Helm chart (argoproj/argo-helm), pinned."
  type        = string

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+$", var.argocd_chart_version))
    error_message = "argocd_chart_version must be an exact chart version like 8.1.2."
  }
}

variable "argocd_apps_chart_version" {
  description = "Version of the argocd-apps Helm chart that creates the root (app-of-apps) Application, pinned."
  type        = string

  validation {
    condition     = can(regex("^\\d+\\.\\d+\\.\\d+$", var.argocd_apps_chart_version))
    error_message = "argocd_apps_chart_version must be an exact chart version like 2.0.2."
  }
}

variable "addons" {
  description = "Add-ons to enable; each becomes an enable_<name> label on the cluster secret that the add-on ApplicationSets select on."
  type        = map(bool)
  default = {
    karpenter            = true
    nvidia_device_plugin = true
    dcgm_exporter        = true
    efa_device_plugin    = true
    neuron               = false
  }
}

variable "extra_metadata" {
  description = "Extra annotations for the cluster secret (e.g. role ARNs the add-ons need)."
  type        = map(string)
  default     = {}
}
