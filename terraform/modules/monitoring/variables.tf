variable "name" {
  description = "Name prefix of the dashboard, alarms, topic and AMP workspace, e.g. \"ml-clusters-main-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,60}$", var.name))
    error_message = "name must be 2-61 letters, digits or hyphens starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "KMS key encrypting the SNS alarm topic, the AMP workspace and its log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "source_bucket_name" {
  description = "Central bucket whose replication is watched (replication metrics are reported in its region)."
  type        = string
}

variable "replication_rules" {
  description = "Replication rules to alarm on (the s3-replication unit's `rules` output): rule_id and destination_bucket_name, other attributes ignored."
  type = list(object({
    rule_id                 = string
    destination_bucket_name = string
  }))
  default = []
}

variable "replication_latency_threshold_seconds" {
  description = "Alarm when ReplicationLatency exceeds this. RTC promises 15 minutes (900 s) for 99.99% of objects."
  type        = number
  default     = 900

  validation {
    condition     = var.replication_latency_threshold_seconds >= 60
    error_message = "replication_latency_threshold_seconds must be at least 60."
  }
}

variable "fsx_file_system_ids" {
  description = "FSx for Lustre file systems to chart and alarm on."
  type        = list(string)
  default     = []
}

variable "fsx_free_storage_threshold_bytes" {
  description = "Alarm when an FSx file system has less free capacity than this."
  type        = number
  default     = 536870912000 # 500 GiB
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic (confirm the subscription mail)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the AMP workspace log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
