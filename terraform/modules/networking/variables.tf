variable "name" {
  description = "Name prefix for the VPC and everything in it, e.g. \"ml-main-us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name))
    error_message = "name must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC. Must be a /16 so the subnet plan (three /18 compute subnets, /24 public subnets) fits; plan it so no two accounts/regions overlap (10.0/16 main-use1, 10.1/16 main-usw2, 10.2/16 secondary-use1, 10.3/16 secondary-usw2)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && endswith(var.vpc_cidr, "/16")
    error_message = "vpc_cidr must be a valid IPv4 /16 CIDR block."
  }
}

variable "azs" {
  description = "Availability zones to spread the subnets over (2 or 3). GPU capacity (Capacity Blocks, Training Plans) is AZ-specific, so list the AZs your capacity lives in."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list 2 or 3 distinct availability zones."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for the whole VPC (cheaper) instead of one per AZ (survives an AZ outage)."
  type        = bool
  default     = false
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs to a CloudWatch log group."
  type        = bool
  default     = true
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a CloudWatch Logs retention value (e.g. 30, 90, 365)."
  }
}

variable "tags" {
  description = "Extra tags for every resource (the provider's default_tags already carry account, region and the ml-clusters:unit tag)."
  type        = map(string)
  default     = {}
}
