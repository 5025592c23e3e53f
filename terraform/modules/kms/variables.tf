variable "alias_name" {
  description = "Alias of the key, e.g. \"alias/ml-clusters-main-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^alias/[a-zA-Z0-9/_-]+$", var.alias_name)) && !startswith(var.alias_name, "alias/aws/")
    error_message = "alias_name must look like alias/<name> and must not use the reserved alias/aws/ prefix."
  }
}

variable "description" {
  description = "Human-readable description of the key."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled key deletion takes effect (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "decrypt_account_ids" {
  description = "Other AWS accounts whose principals may use the key to decrypt (e.g. workload accounts pulling KMS-encrypted ECR images or reading shared data). Their own IAM policies must grant it too."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.decrypt_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "decrypt_account_ids must be 12-digit AWS account IDs."
  }
}

variable "encrypt_principal_arns" {
  description = "IAM role ARNs (possibly in other accounts, possibly not created yet) allowed to encrypt with the key, e.g. the hub's S3 replication role writing replicas. Granted through the owning account's root with an aws:PrincipalArn condition, so the role may be created later."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.encrypt_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "encrypt_principal_arns must be IAM role ARNs."
  }
}

variable "tags" {
  description = "Extra tags for the key."
  type        = map(string)
  default     = {}
}
