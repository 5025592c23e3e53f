variable "cluster_name" {
  description = "Name of the HyperPod cluster (1-63 alphanumerics or hyphens)."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.cluster_name))
    error_message = "cluster_name must match ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$."
  }
}

variable "region" {
  description = "Region of the cluster (configures the awscc provider)."
  type        = string
}

variable "provider_role_arn" {
  description = "Role the awscc provider assumes (the account's TerraformExecutionRole; the generated provider only configures hashicorp/aws)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.provider_role_arn))
    error_message = "provider_role_arn must be an IAM role ARN."
  }
}

variable "unit_path" {
  description = "The unit's path under the live root; awscc resources carry it as the ml-clusters:unit tag (the aws provider's default_tags do not reach awscc)."
  type        = string
}

variable "orchestrator" {
  description = "\"slurm\" (controller/login/compute groups configured by the lifecycle scripts) or \"eks\" (nodes join eks_cluster_arn)."
  type        = string
  default     = "slurm"

  validation {
    condition     = contains(["slurm", "eks"], var.orchestrator)
    error_message = "orchestrator must be \"slurm\" or \"eks\"."
  }
}

variable "eks_cluster_arn" {
  description = "EKS cluster the nodes join when orchestrator = \"eks\" (created first, by an eks-cluster unit)."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Private subnets of the instance groups (required with FSx and for EKS). Use the AZ of your GPU capacity / Training Plan and of the FSx file system."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && length(var.subnet_ids) <= 16
    error_message = "subnet_ids must list 1 to 16 subnets."
  }
}

variable "security_group_ids" {
  description = "Security groups of the instances: the EFA group (all traffic, self-referencing, no 0.0.0.0/0 egress) plus a group carrying the nodes' general egress (the networking unit's node_egress group)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) >= 1 && length(var.security_group_ids) <= 5
    error_message = "security_group_ids must list 1 to 5 security groups."
  }
}

variable "instance_role_arn" {
  description = "Execution role of every instance group (iam unit; carries AmazonSageMakerClusterInstanceRolePolicy)."
  type        = string
}

variable "instance_role_name" {
  description = "Name of that role; this module adds ECR-pull and KMS permissions to it."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the lifecycle-script bucket and the instance EBS volumes."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN."
  }
}

variable "lifecycle_bucket_name" {
  description = "Bucket for the lifecycle scripts. HyperPod's managed instance policy only reads buckets whose name starts with \"sagemaker-\"."
  type        = string

  validation {
    condition     = startswith(var.lifecycle_bucket_name, "sagemaker-") && can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.lifecycle_bucket_name))
    error_message = "lifecycle_bucket_name must be a valid bucket name starting with \"sagemaker-\"."
  }
}

variable "lifecycle_scripts_dir" {
  description = "Absolute path of the lifecycle scripts (terraform/cluster-configs/hyperpod/lifecycle-scripts); on_create.sh is the entrypoint."
  type        = string
}

variable "fsx_dns_name" {
  description = "DNS name of the FSx for Lustre file system the lifecycle scripts mount at /fsx."
  type        = string
}

variable "fsx_mount_name" {
  description = "Lustre mount name of that file system."
  type        = string
}

variable "instance_groups" {
  description = "Instance groups. role: controller | login | compute (Slurm; with EKS every group is compute). deep_health_checks (InstanceStress, InstanceConnectivity) run on start on GPU/Trainium groups; training_plan_arn places the group on a SageMaker Training Plan reservation."
  type = list(object({
    name               = string
    role               = string
    instance_type      = string
    instance_count     = number
    ebs_volume_gib     = optional(number, 500)
    threads_per_core   = optional(number, 1)
    training_plan_arn  = optional(string)
    deep_health_checks = optional(list(string), [])
  }))

  validation {
    condition     = alltrue([for g in var.instance_groups : contains(["controller", "login", "compute"], g.role)])
    error_message = "each instance group role must be controller, login or compute."
  }

  validation {
    condition     = alltrue([for g in var.instance_groups : startswith(g.instance_type, "ml.")])
    error_message = "HyperPod instance types carry the ml. prefix (e.g. ml.p5.48xlarge)."
  }

  validation {
    condition     = alltrue([for g in var.instance_groups : alltrue([for c in g.deep_health_checks : contains(["InstanceStress", "InstanceConnectivity"], c)])])
    error_message = "deep_health_checks may only contain InstanceStress and InstanceConnectivity."
  }

  validation {
    condition     = alltrue([for g in var.instance_groups : length(g.deep_health_checks) == 0 || can(regex("^ml\\.(p|g|trn)", g.instance_type))])
    error_message = "deep health checks only run on accelerated (ml.p*, ml.g*, ml.trn*) instance groups."
  }

  validation {
    condition     = alltrue([for g in var.instance_groups : g.training_plan_arn == null || can(regex("^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:training-plan/.+$", g.training_plan_arn))])
    error_message = "training_plan_arn must be a SageMaker training-plan ARN."
  }

  validation {
    condition     = length(distinct([for g in var.instance_groups : g.name])) == length(var.instance_groups)
    error_message = "instance group names must be unique."
  }
}

variable "node_recovery" {
  description = "\"Automatic\" replaces or reboots nodes that fail health checks; \"None\" only labels them."
  type        = string
  default     = "Automatic"

  validation {
    condition     = contains(["Automatic", "None"], var.node_recovery)
    error_message = "node_recovery must be Automatic or None."
  }
}

variable "ecr_repository_arns" {
  description = "ECR repositories (possibly in the hub account) the nodes pull job images from."
  type        = list(string)
  default     = []
}

variable "extra_kms_key_arns" {
  description = "Further KMS keys the nodes may decrypt with (e.g. the hub key encrypting ECR images)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
