variable "bucket_name" {
  description = "Name of the central Terraform state bucket, e.g. \"ml-clusters-tfstate-483026362307\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,56}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name of at most 58 characters (\"-logs\" is appended for the access-log bucket)."
  }
}

variable "allowed_principal_arns" {
  description = "IAM role ARNs (any account) that may read and write state, e.g. the hub's CI role. Principals of this account are governed by their IAM policies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.allowed_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "allowed_principal_arns must be IAM role ARNs."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep non-current state versions (the history you roll back to)."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 7
    error_message = "Keep at least 7 days of state history."
  }
}

variable "access_log_retention_days" {
  description = "Days to keep S3 server access logs of the state bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 30
    error_message = "access_log_retention_days must be at least 30."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
