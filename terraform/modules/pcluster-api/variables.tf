variable "region" {
  description = "Region to deploy the ParallelCluster API in (the region of the clusters it manages)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-\\d$", var.region))
    error_message = "region must be an AWS region name like us-east-1."
  }
}

variable "api_stack_name" {
  description = "Name of the CloudFormation stack of the API; the aws-parallelcluster provider finds the API endpoint through it."
  type        = string
  default     = "ml-clusters-pcluster-api"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,127}$", var.api_stack_name))
    error_message = "api_stack_name must be a valid CloudFormation stack name."
  }
}

variable "parallelcluster_version" {
  description = "ParallelCluster version of the API (>= 3.11 for the aws-parallelcluster provider ~> 1.1). Clusters are created with this version."
  type        = string
  default     = "3.14.0"

  validation {
    condition     = can(regex("^3\\.(1[1-9]|[2-9][0-9])\\.\\d+$", var.parallelcluster_version))
    error_message = "parallelcluster_version must be 3.11.0 or later (aws-parallelcluster provider 1.1 supports ParallelCluster 3.11+)."
  }
}

variable "enable_iam_admin_access" {
  description = "Let the API create IAM roles for clusters. False: clusters must bring their own node roles (the iam unit creates them), which keeps the API least-privilege."
  type        = bool
  default     = false
}

variable "permissions_boundary_policy_arn" {
  description = "Optional permissions boundary the API applies to the IAM roles it creates."
  type        = string
  default     = null
}
