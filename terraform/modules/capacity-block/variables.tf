variable "instance_type" {
  description = "Instance type of the Capacity Block."
  type        = string

  validation {
    condition = contains([
      "p4d.24xlarge", "p4de.24xlarge", "p5.4xlarge", "p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge",
      "p6-b200.48xlarge", "p6-b300.48xlarge", "trn1.32xlarge", "trn2.48xlarge",
    ], var.instance_type)
    error_message = "instance_type must be a Capacity Block instance type (p4d, p4de, p5, p5e, p5en, p6-b200, p6-b300, trn1, trn2)."
  }
}

variable "instance_count" {
  description = "Number of instances (1-64 per block)."
  type        = number

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 64 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be a whole number between 1 and 64."
  }
}

variable "capacity_duration_hours" {
  description = "Length of the block in hours: whole days (24-336 h in 1-day steps), beyond 14 days in 7-day steps up to 182 days."
  type        = number

  validation {
    condition = (
      var.capacity_duration_hours >= 24 && var.capacity_duration_hours <= 336 && var.capacity_duration_hours % 24 == 0
      ) || (
      var.capacity_duration_hours > 336 && var.capacity_duration_hours <= 4368 && var.capacity_duration_hours % 168 == 0
    )
    error_message = "capacity_duration_hours must be 24-336 in steps of 24, or up to 4368 (182 days) in steps of 168."
  }
}

variable "start_date_range" {
  description = "Earliest start of the block (RFC 3339, UTC), e.g. 2026-12-01T00:00:00Z. Blocks can be booked up to 8 weeks ahead."
  type        = string

  validation {
    condition     = can(formatdate("YYYY", var.start_date_range))
    error_message = "start_date_range must be an RFC 3339 timestamp."
  }
}

variable "end_date_range" {
  description = "Latest end of the block (RFC 3339, UTC)."
  type        = string

  validation {
    condition     = can(formatdate("YYYY", var.end_date_range))
    error_message = "end_date_range must be an RFC 3339 timestamp."
  }
}

variable "purchase" {
  description = "Actually buy the offering. Capacity Blocks are paid upfront and cannot be cancelled, so this defaults to false: the unit then only looks the offering up (price, AZ, dates)."
  type        = bool
  default     = false
}

variable "instance_platform" {
  description = "Operating system platform of the reservation."
  type        = string
  default     = "Linux/UNIX"

  validation {
    condition     = contains(["Linux/UNIX", "Red Hat Enterprise Linux", "SUSE Linux", "Ubuntu Pro"], var.instance_platform)
    error_message = "instance_platform must be Linux/UNIX, Red Hat Enterprise Linux, SUSE Linux or Ubuntu Pro."
  }
}

variable "capacity_pool" {
  description = "Value of the ml-clusters/capacity-pool tag on the reservation; Karpenter's GPU EC2NodeClass selects reservations by it (capacityReservationSelectorTerms)."
  type        = string
  default     = "training"

  validation {
    condition     = can(regex("^[a-z0-9-]{1,63}$", var.capacity_pool))
    error_message = "capacity_pool must be 1-63 lowercase letters, digits or hyphens."
  }
}

variable "tags" {
  description = "Extra tags for the reservation."
  type        = map(string)
  default     = {}
}
