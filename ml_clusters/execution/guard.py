"""The destructive-change guard: a plan that deletes or replaces stateful infrastructure is not applied
unless the run config names that unit and resource address in its allow list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ml_clusters.execution.plan_summary import PlanSummary, ResourceChange

# Resource types whose deletion loses data or a running cluster. Replacements count: both replace
# forms in `change.actions` contain "delete".
STATEFUL_TYPES: frozenset[str] = frozenset(
    {
        # S3 buckets (data, replicas, the Terraform state bucket) and the configs that protect their data
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_replication_configuration",
        "aws_s3_bucket_object_lock_configuration",
        # shared file systems
        "aws_fsx_lustre_file_system",
        "aws_fsx_ontap_file_system",
        "aws_fsx_openzfs_file_system",
        "aws_fsx_windows_file_system",
        "aws_efs_file_system",
        # clusters
        "aws_eks_cluster",
        "awscc_eks_cluster",
        "awscc_sagemaker_cluster",  # HyperPod
        "aws_sagemaker_cluster",
        "aws-parallelcluster_cluster",  # ParallelCluster (aws-tf/aws-parallelcluster provider)
        # encryption keys: data encrypted under a deleted key is gone
        "aws_kms_key",
        "aws_kms_replica_key",
    }
)


@dataclass(frozen=True)
class AllowedDestroy:
    unit: str
    address: str


@dataclass(frozen=True)
class GuardVerdict:
    blocked: tuple[ResourceChange, ...]  # destructive changes not in the allow list
    allowed: tuple[ResourceChange, ...]  # destructive changes the allow list let through

    @property
    def passed(self) -> bool:
        return not self.blocked

    def describe(self, unit: str) -> str:
        if self.passed:
            extra = f" ({len(self.allowed)} allow-listed)" if self.allowed else ""
            return f"no unapproved destructive change{extra}"
        items = ", ".join(f"{c.action} {c.address}" for c in self.blocked)
        return (
            f"plan would {items}; apply is blocked unless the run config has "
            "allow_destroy: [" + ", ".join(f'{{unit: "{unit}", address: "{c.address}"}}' for c in self.blocked) + "]"
        )


def check_plan(unit: str, summary: PlanSummary, allow: Iterable[AllowedDestroy]) -> GuardVerdict:
    allowed_addresses = {a.address for a in allow if a.unit.strip("/") == unit}
    destructive = [c for c in summary.changes if c.deletes and c.type in STATEFUL_TYPES]
    return GuardVerdict(
        blocked=tuple(c for c in destructive if c.address not in allowed_addresses),
        allowed=tuple(c for c in destructive if c.address in allowed_addresses),
    )
