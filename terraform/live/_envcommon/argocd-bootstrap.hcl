# GitOps Bridge: ArgoCD + a cluster secret carrying Terraform metadata + the app-of-apps that
# points at terraform/gitops. The EKS cluster dependency ("eks") is declared by each unit.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//argocd-bootstrap"
}

locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_id   = local.account_vars.locals.account_id
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
  # Hub facts (main account) shared by every account.
  hub = read_terragrunt_config("${dirname(find_in_parent_folders("root.hcl"))}/main-account/account.hcl").locals
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

inputs = {
  account_id                = local.account_id
  account_name              = local.account_name
  aws_region                = local.aws_region
  vpc_id                    = dependency.networking.outputs.vpc_id
  efa_security_group_id     = dependency.networking.outputs.efa_security_group_id
  kubeconfig_role_arn       = "arn:aws:iam::${local.account_id}:role/TerraformExecutionRole"
  gitops_repo_url           = local.hub.gitops_repo_url
  gitops_repo_revision      = "main"
  gitops_repo_path          = "terraform/gitops"
  argocd_chart_version      = "8.1.2"
  argocd_apps_chart_version = "2.0.2"
}
