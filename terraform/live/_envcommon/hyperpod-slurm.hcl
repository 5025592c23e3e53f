# SageMaker HyperPod with the Slurm orchestrator: controller/login/GPU worker groups, deep health
# checks, automatic node recovery, FSx for Lustre, lifecycle scripts in a sagemaker-* bucket.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//hyperpod"
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
    vpc_id                        = "vpc-00000000000000000"
    vpc_cidr_block                = "10.0.0.0/16"
    private_subnet_ids            = ["subnet-00000000000000001", "subnet-00000000000000002", "subnet-00000000000000003"]
    private_subnets_by_az         = { "us-east-1a" = "subnet-00000000000000001", "us-east-1b" = "subnet-00000000000000002", "us-east-1c" = "subnet-00000000000000003" }
    efa_security_group_id         = "sg-00000000000000000"
    node_egress_security_group_id = "sg-11111111111111111"
    placement_group_name          = "mock-placement-group"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

dependency "kms" {
  config_path = "${get_terragrunt_dir()}/../kms"

  mock_outputs = {
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
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

inputs = {
  region                = local.aws_region
  provider_role_arn     = "arn:aws:iam::${local.account_id}:role/TerraformExecutionRole"
  unit_path             = local.unit_path
  cluster_name          = "ml-hyperpod-${local.account_name}-${local.aws_region}"
  orchestrator          = "slurm"
  subnet_ids            = [dependency.networking.outputs.private_subnet_ids[0]]
  security_group_ids    = [dependency.networking.outputs.efa_security_group_id, dependency.networking.outputs.node_egress_security_group_id]
  instance_role_arn     = dependency.iam.outputs.hyperpod_instance_role_arn
  instance_role_name    = dependency.iam.outputs.hyperpod_instance_role_name
  kms_key_arn           = dependency.kms.outputs.key_arn
  lifecycle_bucket_name = "sagemaker-ml-lifecycle-${local.account_id}-${local.aws_region}"
  lifecycle_scripts_dir = "${dirname(find_in_parent_folders("root.hcl"))}/../cluster-configs/hyperpod/lifecycle-scripts"
  fsx_dns_name          = dependency.shared_storage.outputs.fsx_dns_name
  fsx_mount_name        = dependency.shared_storage.outputs.fsx_mount_name
  instance_groups = [
    {
      name           = "controller"
      role           = "controller"
      instance_type  = "ml.m5.2xlarge"
      instance_count = 1
    },
    {
      name           = "login"
      role           = "login"
      instance_type  = "ml.m5.4xlarge"
      instance_count = 1
    },
    {
      name               = "gpu-workers"
      role               = "compute"
      instance_type      = "ml.p5.48xlarge"
      instance_count     = 4
      ebs_volume_gib     = 500
      deep_health_checks = ["InstanceStress", "InstanceConnectivity"]
    },
  ]
}
