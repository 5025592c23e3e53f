variable "repository_names" {
  description = "Repositories to create in the hub registry (training, inference and job images)."
  type        = list(string)

  validation {
    condition     = length(var.repository_names) > 0 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))])
    error_message = "repository_names must be valid ECR repository names (lowercase, digits, . _ - /)."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting images; workload accounts need kms:Decrypt on it (granted in the kms unit's key policy)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "pull_account_ids" {
  description = "Other AWS accounts whose clusters pull images from these repositories."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.pull_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "pull_account_ids must be 12-digit AWS account IDs."
  }
}

variable "keep_tagged_images" {
  description = "How many tagged images to keep per repository (older ones expire). Tags are immutable, so every training run's image stays reproducible until it ages out."
  type        = number
  default     = 200

  validation {
    condition     = var.keep_tagged_images >= 10
    error_message = "keep_tagged_images must be at least 10."
  }
}

variable "untagged_expiry_days" {
  description = "Days after which untagged images expire."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_expiry_days >= 1
    error_message = "untagged_expiry_days must be at least 1."
  }
}

variable "tags" {
  description = "Extra tags for every repository."
  type        = map(string)
  default     = {}
}
