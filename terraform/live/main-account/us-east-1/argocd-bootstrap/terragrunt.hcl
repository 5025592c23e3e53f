include "root" {
  path = find_in_parent_folders("root.hcl")
}

include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/argocd-bootstrap.hcl"
  expose = true
}

dependency "eks" {
  config_path = "${get_terragrunt_dir()}/../eks-training"

  mock_outputs = {
    cluster_name                       = "mock-cluster"
    cluster_endpoint                   = "https://00000000000000000000000000000000.gr7.us-east-1.eks.amazonaws.com"
    cluster_certificate_authority_data = "bW9jaw=="
    karpenter_node_iam_role_name       = "mock-karpenter-node"
    karpenter_queue_name               = "mock-karpenter"
  }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}

inputs = {
  cluster_name                       = dependency.eks.outputs.cluster_name
  cluster_endpoint                   = dependency.eks.outputs.cluster_endpoint
  cluster_certificate_authority_data = dependency.eks.outputs.cluster_certificate_authority_data
  karpenter_node_iam_role_name       = dependency.eks.outputs.karpenter_node_iam_role_name
  karpenter_queue_name               = dependency.eks.outputs.karpenter_queue_name
  cluster_purpose                    = "training"
}
