# GitOps Bridge: Terraform installs ArgoCD and hands it the cluster's Terraform metadata through the
# in-cluster "cluster secret"; ArgoCD takes it from there (add-ons, Karpenter NodePools, workloads)
# from terraform/gitops via an app-of-apps.

provider "kubernetes" {
  host                   = var.cluster_endpoint
  cluster_ca_certificate = base64decode(var.cluster_certificate_authority_data)

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.aws_region, "--role-arn", var.kubeconfig_role_arn]
  }
}

provider "helm" {
  kubernetes = {
    host                   = var.cluster_endpoint
    cluster_ca_certificate = base64decode(var.cluster_certificate_authority_data)

    exec = {
      api_version = "client.authentication.k8s.io/v1beta1"
      command     = "aws"
      args        = ["eks", "get-token", "--cluster-name", var.cluster_name, "--region", var.aws_region, "--role-arn", var.kubeconfig_role_arn]
    }
  }
}

locals {
  namespace = "argocd"

  # Labels: what ApplicationSets select on (cluster generator matchLabels).
  labels = merge(
    {
      "argocd.argoproj.io/secret-type" = "cluster"
      "ml-clusters/account"            = var.account_name
      "ml-clusters/region"             = var.aws_region
      "ml-clusters/purpose"            = var.cluster_purpose
    },
    { for name, enabled in var.addons : "enable_${name}" => tostring(enabled) },
  )

  # Annotations: values templated into the add-on Applications.
  annotations = merge(
    {
      aws_account_id               = var.account_id
      aws_region                   = var.aws_region
      aws_vpc_id                   = var.vpc_id
      efa_security_group_id        = var.efa_security_group_id
      aws_cluster_name             = var.cluster_name
      cluster_purpose              = var.cluster_purpose
      karpenter_node_iam_role_name = coalesce(var.karpenter_node_iam_role_name, "")
      karpenter_sqs_queue_name     = coalesce(var.karpenter_queue_name, "")
      addons_repo_url              = var.gitops_repo_url
      addons_repo_revision         = var.gitops_repo_revision
      addons_repo_basepath         = var.gitops_repo_path
    },
    var.extra_metadata,
  )
}

resource "kubernetes_namespace_v1" "argocd" {
  metadata {
    name = local.namespace
  }
}

resource "helm_release" "argocd" {
  name       = "argo-cd"
  repository = "https://argoproj.github.io/argo-helm"
  chart      = "argo-cd"
  version    = var.argocd_chart_version
  namespace  = kubernetes_namespace_v1.argocd.metadata[0].name

  wait    = true
  timeout = 900

  values = [yamlencode({
    global = {
      nodeSelector = { "ml-clusters/pool" = "system" }
    }
  })]
}

# The GitOps Bridge cluster secret: ArgoCD's in-cluster destination plus the metadata labels and
# annotations the ApplicationSets in terraform/gitops template from.
resource "kubernetes_secret_v1" "cluster" {
  metadata {
    name        = "in-cluster-${var.cluster_name}"
    namespace   = kubernetes_namespace_v1.argocd.metadata[0].name
    labels      = local.labels
    annotations = local.annotations
  }

  data = {
    name   = var.cluster_name
    server = "https://kubernetes.default.svc"
    config = jsonencode({ tlsClientConfig = { insecure = false } })
  }

  depends_on = [helm_release.argocd]
}

# App of apps: one root Application pointing at <gitops path>/bootstrap, which holds the
# ApplicationSets for add-ons and workloads.
resource "helm_release" "root_app" {
  name       = "argocd-apps"
  repository = "https://argoproj.github.io/argo-helm"
  chart      = "argocd-apps"
  version    = var.argocd_apps_chart_version
  namespace  = kubernetes_namespace_v1.argocd.metadata[0].name

  values = [yamlencode({
    applications = {
      bootstrap = {
        namespace  = local.namespace
        project    = "default"
        finalizers = ["resources-finalizer.argocd.argoproj.io"]
        source = {
          repoURL        = var.gitops_repo_url
          targetRevision = var.gitops_repo_revision
          path           = "${var.gitops_repo_path}/bootstrap"
          directory      = { recurse = true }
        }
        destination = {
          server    = "https://kubernetes.default.svc"
          namespace = local.namespace
        }
        syncPolicy = {
          automated   = { prune = true, selfHeal = true }
          syncOptions = ["CreateNamespace=true"]
        }
      }
    }
  })]

  depends_on = [kubernetes_secret_v1.cluster]
}
