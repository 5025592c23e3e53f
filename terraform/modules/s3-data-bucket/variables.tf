variable "bucket_name" {
  description = "Name of the data bucket, e.g. \"ml-clusters-data-483026362307-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,56}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (no dots) of at most 58 characters (\"-logs\" is appended for its access-log bucket)."
  }
}

variable "bucket_role" {
  description = "\"central\" for the hub bucket replication starts from, \"replica\" for a regional replica that the hub's replication role writes into."
  type        = string

  validation {
    condition     = contains(["central", "replica"], var.bucket_role)
    error_message = "bucket_role must be \"central\" or \"replica\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the regional KMS key encrypting objects (SSE-KMS with S3 Bucket Keys)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "replication_source_role_arn" {
  description = "Replica only: ARN of the hub's S3 replication role (may not exist yet). The bucket policy lets it replicate objects, deletes and tags and hand object ownership to this bucket's owner."
  type        = string
  default     = null

  validation {
    condition     = var.replication_source_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.replication_source_role_arn))
    error_message = "replication_source_role_arn must be an IAM role ARN."
  }
}

variable "replication_source_bucket_arn" {
  description = "Replica only: ARN of the central bucket replicating into this one (documented in tags and outputs; replication is configured on the source side)."
  type        = string
  default     = null

  validation {
    condition     = var.replication_source_bucket_arn == null || can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.replication_source_bucket_arn))
    error_message = "replication_source_bucket_arn must be an S3 bucket ARN."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep non-current object versions (versioning is required by replication)."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days to keep S3 server access logs."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 30
    error_message = "access_log_retention_days must be at least 30."
  }
}

variable "force_destroy" {
  description = "Allow destroying the bucket while it still holds objects. Keep false outside sandboxes."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
