variable "role_name" {
  description = "Name of the IAM role S3 assumes to replicate. Replica buckets and keys trust this exact name, so it is fixed across the estate."
  type        = string
  default     = "ml-clusters-s3-replication"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "role_name must be a valid IAM role name."
  }
}

variable "source_bucket_name" {
  description = "Name of the central bucket replication starts from (must be versioned)."
  type        = string
}

variable "source_bucket_arn" {
  description = "ARN of the central bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.source_bucket_arn))
    error_message = "source_bucket_arn must be an S3 bucket ARN."
  }
}

variable "source_kms_key_arn" {
  description = "KMS key encrypting the central bucket; the replication role may decrypt with it (through S3 only)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.source_kms_key_arn))
    error_message = "source_kms_key_arn must be a KMS key ARN."
  }
}

variable "destinations" {
  description = "Replica buckets, one per region/account: name (short, unique; used in rule IDs), bucket_arn, region, account_id, kms_key_arn (the destination's key replicas are encrypted with)."
  type = list(object({
    name        = string
    bucket_arn  = string
    region      = string
    account_id  = string
    kms_key_arn = string
  }))

  validation {
    condition     = length(var.destinations) > 0 && length(distinct([for d in var.destinations : d.name])) == length(var.destinations)
    error_message = "destinations must be non-empty and their names unique."
  }

  validation {
    condition     = alltrue([for d in var.destinations : can(regex("^[0-9]{12}$", d.account_id)) && can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", d.bucket_arn)) && can(regex("^arn:aws[a-z-]*:kms:", d.kms_key_arn))])
    error_message = "each destination needs a 12-digit account_id, an S3 bucket ARN and a KMS key ARN."
  }

  validation {
    condition     = length(distinct([for d in var.destinations : d.bucket_arn])) == length(var.destinations)
    error_message = "each destination bucket may appear only once."
  }
}

variable "prefix_rules" {
  description = "What to replicate and the storage class replicas land in, per key prefix. One replication rule is made per destination and prefix."
  type = list(object({
    prefix        = string
    storage_class = string
  }))
  default = [
    { prefix = "datasets/", storage_class = "STANDARD_IA" },
    { prefix = "checkpoints/", storage_class = "GLACIER_IR" },
  ]

  validation {
    condition     = length(var.prefix_rules) > 0 && alltrue([for r in var.prefix_rules : endswith(r.prefix, "/") && length(r.prefix) > 1])
    error_message = "prefix_rules must be non-empty and each prefix a folder-like \"name/\"."
  }

  validation {
    condition     = length(distinct([for r in var.prefix_rules : r.prefix])) == length(var.prefix_rules)
    error_message = "prefixes must be distinct."
  }

  validation {
    condition     = alltrue([for r in var.prefix_rules : contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"], r.storage_class)])
    error_message = "storage_class must be one of STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, GLACIER, DEEP_ARCHIVE."
  }
}

variable "replication_time_minutes" {
  description = "S3 Replication Time Control threshold. RTC only supports 15 minutes; replication metrics use the same threshold."
  type        = number
  default     = 15

  validation {
    condition     = var.replication_time_minutes == 15
    error_message = "S3 Replication Time Control only supports a 15-minute threshold."
  }
}

variable "tags" {
  description = "Extra tags for the replication role."
  type        = map(string)
  default     = {}
}
