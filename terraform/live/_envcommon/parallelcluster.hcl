# ParallelCluster (Slurm) rendered from terraform/cluster-configs/parallelcluster/training-cluster.yaml:
# on-demand p5 queue with EFA + placement group, CAPACITY_BLOCK queue (MinCount = MaxCount),
# FSx + EFS shared storage, DCGM GPU health checks.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//parallelcluster"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
  # The unit's path under the live root (<account>/<region>/<unit>), for resources outside the
  # aws provider's default_tags.
  unit_path = "${basename(dirname(dirname(get_terragrunt_dir())))}/${basename(dirname(get_terragrunt_dir()))}/${basename(get_terragrunt_dir())}"
}

dependency "networking" {
  config_path = "${get_terragrunt_dir()}/../networking"

  mock_outputs = {
    vpc_id                = "vpc-00000000000000000"
    vpc_cidr_block        = "10.0.0.0/16"
    private_subnet_ids    = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
    private_subnets_by_az = { "us-east-1a" = "subnet-00000000000000001", "us-east-1b" = "subnet-00000000000000002", "us-east-1c" = "subnet-00000000000000003" }
    efa_security_group_id = "sg-00000000000000000"
    placement_group_name  = "mock-placement-group"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "iam" {
  config_path = "${get_terragrunt_dir()}/../iam"

  mock_outputs = {
    data_access_policy_arn      = "arn:aws:iam::111111111111:policy/mock-data-access"
    pcluster_head_node_role_arn = "arn:aws:iam::111111111111:role/mock-pcluster-head-node"
    pcluster_compute_role_arn   = "arn:aws:iam::111111111111:role/mock-pcluster-compute"
    hyperpod_instance_role_arn  = "arn:aws:iam::111111111111:role/mock-hyperpod-instance"
    hyperpod_instance_role_name = "mock-hyperpod-instance"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "shared_storage" {
  config_path = "${get_terragrunt_dir()}/../shared-storage"

  mock_outputs = {
    fsx_id         = "fs-00000000000000000"
    fsx_dns_name   = "fs-00000000000000000.fsx.us-east-1.amazonaws.com"
    fsx_mount_name = "abcdefgh"
    efs_id         = "fs-11111111"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "pcluster_api" {
  config_path = "${get_terragrunt_dir()}/../pcluster-api"

  mock_outputs = {
    api_stack_name = "ml-clusters-pcluster-api"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "capacity_block" {
  config_path = "${get_terragrunt_dir()}/../capacity-block"

  mock_outputs = {
    capacity_reservation_id = "cr-00000000000000000"
    availability_zone       = "us-east-1a"
    instance_type           = "p5.48xlarge"
    instance_count          = 2
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  unit_path                        = local.unit_path
  cluster_name                     = "ml-slurm-${local.account_name}-${local.aws_region}"
  region                           = local.aws_region
  api_stack_name                   = dependency.pcluster_api.outputs.api_stack_name
  cluster_config_template_path     = "${dirname(find_in_parent_folders("root.hcl"))}/../cluster-configs/parallelcluster/training-cluster.yaml"
  head_node_subnet_id              = dependency.networking.outputs.private_subnet_ids[0]
  compute_subnets_by_az            = dependency.networking.outputs.private_subnets_by_az
  compute_availability_zone        = local.region_vars.locals.azs[0]
  efa_security_group_id            = dependency.networking.outputs.efa_security_group_id
  placement_group_name             = dependency.networking.outputs.placement_group_name
  head_node_instance_role_arn      = dependency.iam.outputs.pcluster_head_node_role_arn
  compute_instance_role_arn        = dependency.iam.outputs.pcluster_compute_role_arn
  fsx_file_system_id               = dependency.shared_storage.outputs.fsx_id
  efs_file_system_id               = dependency.shared_storage.outputs.efs_id
  capacity_block_reservation_id    = dependency.capacity_block.outputs.capacity_reservation_id
  capacity_block_availability_zone = dependency.capacity_block.outputs.availability_zone
  capacity_block_instance_type     = dependency.capacity_block.outputs.instance_type
  capacity_block_instance_count    = dependency.capacity_block.outputs.instance_count
  head_node_instance_type          = "m6i.2xlarge"
  p5_max_count                     = 4
}
