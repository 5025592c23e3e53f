# A ParallelCluster (Slurm) cluster through the aws-parallelcluster provider, which drives the
# ParallelCluster API deployed by the pcluster-api unit. The cluster configuration lives in
# terraform/cluster-configs/parallelcluster as a YAML template; this module fills it in and removes
# the CAPACITY_BLOCK queue while there is no reservation.

provider "aws-parallelcluster" {
  region         = var.region
  api_stack_name = var.api_stack_name
  use_user_role  = true
}

locals {
  has_capacity_block = var.capacity_block_reservation_id != null
  capacity_block_az  = coalesce(var.capacity_block_availability_zone, var.compute_availability_zone)

  template_vars = {
    region                        = var.region
    cluster_name                  = var.cluster_name
    unit_path                     = var.unit_path
    head_node_instance_type       = var.head_node_instance_type
    head_node_subnet_id           = var.head_node_subnet_id
    head_node_instance_role_arn   = var.head_node_instance_role_arn
    compute_instance_role_arn     = var.compute_instance_role_arn
    compute_subnet_id             = var.compute_subnets_by_az[var.compute_availability_zone]
    efa_security_group_id         = var.efa_security_group_id
    placement_group_name          = var.placement_group_name
    p5_max_count                  = var.p5_max_count
    capacity_block_subnet_id      = lookup(var.compute_subnets_by_az, local.capacity_block_az, "")
    capacity_block_instance_type  = var.capacity_block_instance_type
    capacity_block_instance_count = var.capacity_block_instance_count
    capacity_block_reservation_id = coalesce(var.capacity_block_reservation_id, "none")
    fsx_file_system_id            = var.fsx_file_system_id
    efs_file_system_id            = var.efs_file_system_id
  }

  rendered = yamldecode(templatefile(var.cluster_config_template_path, local.template_vars))

  queues = [
    for queue in local.rendered.Scheduling.SlurmQueues : queue
    if queue.CapacityType != "CAPACITY_BLOCK" || local.has_capacity_block
  ]

  cluster_config = merge(local.rendered, {
    Scheduling = merge(local.rendered.Scheduling, { SlurmQueues = local.queues })
  })
}

resource "aws-parallelcluster_cluster" "this" {
  cluster_name             = var.cluster_name
  region                   = var.region
  cluster_configuration    = yamlencode(local.cluster_config)
  rollback_on_failure      = var.rollback_on_failure
  validation_failure_level = var.validation_failure_level

  lifecycle {
    precondition {
      condition = alltrue(flatten([
        for queue in local.queues : [
          for compute in queue.ComputeResources : compute.MinCount == compute.MaxCount
        ] if queue.CapacityType == "CAPACITY_BLOCK"
      ]))
      error_message = "CAPACITY_BLOCK queues need static nodes: MinCount must equal MaxCount."
    }

    precondition {
      condition     = !local.has_capacity_block || contains(keys(var.compute_subnets_by_az), local.capacity_block_az)
      error_message = "The Capacity Block's availability zone has no cluster subnet; add a subnet in that AZ to the networking unit."
    }

    precondition {
      condition     = contains(keys(var.compute_subnets_by_az), var.compute_availability_zone)
      error_message = "compute_availability_zone has no subnet in compute_subnets_by_az."
    }
  }
}
