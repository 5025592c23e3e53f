variable "name_prefix" {
  description = "Prefix of every role and policy name, e.g. \"ml-clusters\"."
  type        = string
  default     = "ml-clusters"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,24}$", var.name_prefix))
    error_message = "name_prefix must be 2-25 letters, digits or hyphens, starting with a letter."
  }
}

variable "create_account_roles" {
  description = "Create the account-wide roles (TerraformExecutionRole, the observer role). IAM is global: exactly one iam unit per account sets this."
  type        = bool
  default     = false
}

variable "trusted_ci_role_arn" {
  description = "ARN of the hub account's CI role (GitHub Actions OIDC) that TerraformExecutionRole trusts."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.trusted_ci_role_arn))
    error_message = "trusted_ci_role_arn must be an IAM role ARN."
  }
}

variable "execution_role_name" {
  description = "Name of the role the generated provider assumes in this account (root.hcl uses TerraformExecutionRole)."
  type        = string
  default     = "TerraformExecutionRole"
}

variable "execution_role_policy_arns" {
  description = "Managed policies for TerraformExecutionRole. It deploys the whole estate (IAM, VPC, EKS, FSx, ...), hence administrator by default; narrow it with a permissions boundary."
  type        = list(string)
  default     = ["arn:aws:iam::aws:policy/AdministratorAccess"]
}

variable "execution_role_permissions_boundary_arn" {
  description = "Optional permissions boundary for TerraformExecutionRole."
  type        = string
  default     = null
}

variable "execution_role_max_session_seconds" {
  description = "Maximum session of TerraformExecutionRole. Role chaining caps sessions at 1 hour; long EKS/FSx applies may need direct OIDC federation instead."
  type        = number
  default     = 3600

  validation {
    condition     = var.execution_role_max_session_seconds >= 3600 && var.execution_role_max_session_seconds <= 43200
    error_message = "execution_role_max_session_seconds must be between 3600 and 43200."
  }
}

variable "observer_role_name" {
  description = "Name of the read-only role the monitoring sensors assume in this account."
  type        = string
  default     = "MlClustersObserver"
}

variable "observer_trusted_principal_arns" {
  description = "Principals (the Dagster deployment's role in the hub account) allowed to assume the observer role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.observer_trusted_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", arn))])
    error_message = "observer_trusted_principal_arns must be IAM role or user ARNs."
  }
}

variable "create_parallelcluster_roles" {
  description = "Create the ParallelCluster head-node and compute-node roles and instance profiles (path /parallelcluster/)."
  type        = bool
  default     = false
}

variable "create_hyperpod_role" {
  description = "Create the SageMaker HyperPod instance-group execution role."
  type        = bool
  default     = false
}

variable "data_bucket_arns" {
  description = "S3 data buckets (central or replicas) that cluster nodes read datasets from and write checkpoints to."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.data_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", arn))])
    error_message = "data_bucket_arns must be S3 bucket ARNs."
  }
}

variable "kms_key_arns" {
  description = "KMS keys encrypting those buckets (and the file systems) that cluster nodes may use."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:", arn))])
    error_message = "kms_key_arns must be KMS key ARNs."
  }
}

variable "tags" {
  description = "Extra tags for every role and policy."
  type        = map(string)
  default     = {}
}
