# EKS training cluster: p5 GPU node group with EFA (AL2023 NVIDIA AMI), Karpenter for elastic GPU
# capacity, Pod Identity, managed add-ons incl. VPC CNI >= 1.18.4 and the EFS/FSx CSI drivers.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//eks-cluster"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
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

inputs = {
  cluster_name           = "ml-training-${local.account_name}-${local.aws_region}"
  kubernetes_version     = "1.33"
  vpc_id                 = dependency.networking.outputs.vpc_id
  subnet_ids             = dependency.networking.outputs.private_subnet_ids
  efa_security_group_id  = dependency.networking.outputs.efa_security_group_id
  kms_key_arn            = dependency.kms.outputs.key_arn
  data_access_policy_arn = dependency.iam.outputs.data_access_policy_arn
  admin_role_arns        = ["arn:aws:iam::${local.account_id}:role/TerraformExecutionRole"]
  vpc_cni_addon_version  = "v1.19.2-eksbuild.1"
  gpu_node_group = {
    instance_types = ["p5.48xlarge"]
    ami_type       = "AL2023_x86_64_NVIDIA"
    min_size       = 0
    max_size       = 4
    desired_size   = 0
    enable_efa     = true
  }
}
