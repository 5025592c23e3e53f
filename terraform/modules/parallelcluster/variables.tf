variable "cluster_name" {
  description = "Name of the ParallelCluster cluster (starts with a letter, at most 60 characters; 40 with Slurm accounting)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,59}$", var.cluster_name))
    error_message = "cluster_name must start with a letter and have at most 60 letters, digits or hyphens."
  }
}

variable "unit_path" {
  description = "The unit's path under the live root; the cluster's resources carry it as the ml-clusters:unit tag (ParallelCluster tags its own stacks, outside the aws provider's default_tags)."
  type        = string
}

variable "region" {
  description = "Region of the cluster (and of its ParallelCluster API)."
  type        = string
}

variable "api_stack_name" {
  description = "CloudFormation stack of the ParallelCluster API (output of the pcluster-api unit)."
  type        = string
}

variable "cluster_config_template_path" {
  description = "Absolute path of the ParallelCluster YAML template (terraform/cluster-configs/parallelcluster/*.yaml)."
  type        = string

  validation {
    condition     = endswith(var.cluster_config_template_path, ".yaml") || endswith(var.cluster_config_template_path, ".yml")
    error_message = "cluster_config_template_path must point at a .yaml file."
  }
}

variable "head_node_instance_type" {
  description = "Instance type of the head node (Slurm controller)."
  type        = string
  default     = "m6i.2xlarge"
}

variable "head_node_subnet_id" {
  description = "Private subnet of the head node."
  type        = string
}

variable "compute_subnets_by_az" {
  description = "Map of availability zone to private subnet ID (networking output)."
  type        = map(string)
}

variable "compute_availability_zone" {
  description = "AZ of the on-demand queues (and of the FSx file system, to keep Lustre traffic in-AZ)."
  type        = string
}

variable "efa_security_group_id" {
  description = "The VPC's EFA security group (all traffic, self-referencing only)."
  type        = string
}

variable "placement_group_name" {
  description = "Cluster placement group for the on-demand p5 queue."
  type        = string
}

variable "head_node_instance_role_arn" {
  description = "Head-node role (path /parallelcluster/, from the iam unit)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/parallelcluster/.+$", var.head_node_instance_role_arn))
    error_message = "head_node_instance_role_arn must be an IAM role under the /parallelcluster/ path."
  }
}

variable "compute_instance_role_arn" {
  description = "Compute-node role (path /parallelcluster/, from the iam unit)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/parallelcluster/.+$", var.compute_instance_role_arn))
    error_message = "compute_instance_role_arn must be an IAM role under the /parallelcluster/ path."
  }
}

variable "fsx_file_system_id" {
  description = "FSx for Lustre file system mounted at /fsx."
  type        = string
}

variable "efs_file_system_id" {
  description = "EFS file system mounted at /shared."
  type        = string
}

variable "p5_max_count" {
  description = "Maximum number of on-demand p5.48xlarge nodes."
  type        = number
  default     = 4

  validation {
    condition     = var.p5_max_count >= 0 && var.p5_max_count <= 64
    error_message = "p5_max_count must be between 0 and 64."
  }
}

variable "capacity_block_reservation_id" {
  description = "Capacity Block reservation (cr-...) backing the CAPACITY_BLOCK queue; null drops that queue."
  type        = string
  default     = null

  validation {
    condition     = var.capacity_block_reservation_id == null || can(regex("^cr-[0-9a-f]{8,17}$", var.capacity_block_reservation_id))
    error_message = "capacity_block_reservation_id must be a capacity reservation ID (cr-...)."
  }
}

variable "capacity_block_availability_zone" {
  description = "AZ of the Capacity Block; the CAPACITY_BLOCK queue uses the subnet in that AZ."
  type        = string
  default     = null
}

variable "capacity_block_instance_type" {
  description = "Instance type of the Capacity Block."
  type        = string
  default     = "p5.48xlarge"
}

variable "capacity_block_instance_count" {
  description = "Instances in the Capacity Block; the queue's MinCount and MaxCount are both set to it (static nodes)."
  type        = number
  default     = 1

  validation {
    condition     = var.capacity_block_instance_count >= 1 && var.capacity_block_instance_count <= 64
    error_message = "A Capacity Block holds 1 to 64 instances."
  }
}

variable "rollback_on_failure" {
  description = "Roll the cluster stack back when creation fails."
  type        = bool
  default     = true
}

variable "validation_failure_level" {
  description = "Minimum ParallelCluster validation level that fails the create/update."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["INFO", "WARNING", "ERROR"], var.validation_failure_level)
    error_message = "validation_failure_level must be INFO, WARNING or ERROR."
  }
}
