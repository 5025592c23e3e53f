variable "name" {
  description = "Name prefix for the file systems and security groups, e.g. \"ml-main-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_id" {
  description = "VPC of the clusters."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR of the VPC; Lustre and NFS clients are admitted from it."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0))
    error_message = "vpc_cidr_block must be a valid CIDR block."
  }
}

variable "fsx_subnet_id" {
  description = "Subnet of the FSx for Lustre file system (a single AZ: put it in the AZ of your GPU capacity)."
  type        = string
}

variable "efs_subnet_ids" {
  description = "Subnets that get an EFS mount target (one per AZ)."
  type        = list(string)

  validation {
    condition     = length(var.efs_subnet_ids) > 0
    error_message = "efs_subnet_ids must list at least one subnet."
  }
}

variable "client_security_group_ids" {
  description = "Security groups of cluster nodes (e.g. the EFA group) admitted to EFS by reference in addition to the VPC CIDR (Lustre clients are admitted by VPC CIDR)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "KMS key encrypting FSx, EFS and the FSx log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "fsx_storage_capacity_gib" {
  description = "FSx for Lustre PERSISTENT_2 capacity in GiB: 1200, or a multiple of 2400."
  type        = number
  default     = 4800

  validation {
    condition     = var.fsx_storage_capacity_gib == 1200 || (var.fsx_storage_capacity_gib >= 2400 && var.fsx_storage_capacity_gib % 2400 == 0)
    error_message = "PERSISTENT_2 SSD capacity must be 1200 GiB or a multiple of 2400 GiB."
  }
}

variable "fsx_throughput_per_unit_storage" {
  description = "PERSISTENT_2 throughput in MB/s per TiB of storage (125, 250, 500 or 1000). Total throughput = capacity (TiB) x this."
  type        = number
  default     = 250

  validation {
    condition     = contains([125, 250, 500, 1000], var.fsx_throughput_per_unit_storage)
    error_message = "fsx_throughput_per_unit_storage must be 125, 250, 500 or 1000 for PERSISTENT_2."
  }
}

variable "fsx_file_system_path" {
  description = "Where the S3 data repository appears inside the Lustre namespace, e.g. \"/datasets\"."
  type        = string
  default     = "/datasets"

  validation {
    condition     = startswith(var.fsx_file_system_path, "/") && var.fsx_file_system_path != "/"
    error_message = "fsx_file_system_path must be an absolute path below the root (the root cannot hold a DRA next to other data)."
  }
}

variable "data_repository_bucket_name" {
  description = "The regional S3 data bucket (central bucket in the hub region, the replica elsewhere) linked to FSx through a data repository association."
  type        = string
}

variable "data_repository_prefix" {
  description = "Key prefix in the bucket linked to fsx_file_system_path, e.g. \"datasets/\"."
  type        = string
  default     = "datasets/"

  validation {
    condition     = var.data_repository_prefix == "" || endswith(var.data_repository_prefix, "/")
    error_message = "data_repository_prefix must be empty or end with \"/\"."
  }
}

variable "fsx_auto_export" {
  description = "Also export new/changed/deleted files from FSx back to the bucket. Off by default: replica regions must not write into their replica."
  type        = bool
  default     = false
}

variable "fsx_backup_retention_days" {
  description = "Daily automatic FSx backups to keep (0 disables)."
  type        = number
  default     = 7

  validation {
    condition     = var.fsx_backup_retention_days >= 0 && var.fsx_backup_retention_days <= 90
    error_message = "fsx_backup_retention_days must be between 0 and 90."
  }
}

variable "efs_access_points" {
  description = "EFS access points (one per tenant/use): name, path (root directory, created on first use), uid, gid."
  type = list(object({
    name = string
    path = string
    uid  = number
    gid  = number
  }))
  default = []

  validation {
    condition     = alltrue([for ap in var.efs_access_points : startswith(ap.path, "/")]) && length(distinct([for ap in var.efs_access_points : ap.name])) == length(var.efs_access_points)
    error_message = "efs_access_points need unique names and absolute paths."
  }
}

variable "log_retention_days" {
  description = "Retention of the FSx log group, in days."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
