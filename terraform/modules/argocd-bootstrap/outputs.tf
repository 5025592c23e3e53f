output "argocd_namespace" {
  description = "Namespace ArgoCD runs in."
  value       = kubernetes_namespace_v1.argocd.metadata[0].name
}

output "argocd_chart_version" {
  description = "Installed argo-cd chart version."
  value       = helm_release.argocd.version
}

output "cluster_secret_name" {
  description = "Name of the GitOps Bridge cluster secret."
  value       = kubernetes_secret_v1.cluster.metadata[0].name
}

output "cluster_labels" {
  description = "Labels on the cluster secret (what ApplicationSets select on)."
  value       = local.labels
}

output "root_application" {
  description = "Path the app-of-apps syncs from."
  value       = "${var.gitops_repo_url}#${var.gitops_repo_revision}:${var.gitops_repo_path}/bootstrap"
}
