"""Regenerate terraform/modules/*/README.md: summary, what it creates, seed facts, requirements and
the inputs/outputs tables read from the module's HCL.

    .venv/bin/python -m tests.estate_static.module_readmes

test_modules.py fails when a README misses a variable or output, pointing here.
"""

from __future__ import annotations

import json
import re

from tests.estate_static import hcl
from tests.estate_static.paths import MODULES_DIR as MODULES

INTRO = {
"networking": ("One VPC per account/region shared by every cluster type (terraform-aws-modules/vpc ~> 6).",
  ["VPC with DNS support, flow logs to CloudWatch, locked-down default security group",
   "Private compute subnets: three /18s from a /16 (16,379 IPs each), NAT gateway per AZ (or one)",
   "Public /24 NAT subnets from the last quarter of the VPC",
   "EFA security group: all traffic, ingress and egress referencing only itself",
   "Node-egress security group (HTTPS out, anything inside the VPC) to pair with the EFA group",
   "Cluster placement group for GPU/EFA instances",
   "S3 gateway endpoint on every route table"],
  ["EFA SG is all-traffic self-referencing for ingress **and** egress, with no 0.0.0.0/0 egress",
   "Cluster placement group (EFA needs instances in one AZ, close together)",
   "Non-overlapping CIDRs per account/region (10.0/16 main-use1, 10.1/16 main-usw2, 10.2/16 secondary-use1, 10.3/16 secondary-usw2)",
   "Subnet sizing for GPU nodes (HyperPod EKS p5 = 81 IPs/instance, Slurm p5 = 32)"]),
"shared-storage": ("Shared file systems of one account/region.",
  ["FSx for Lustre PERSISTENT_2 (SSD, LZ4, 2.15) with throughput per TiB as a variable, CloudWatch logging and backups",
   "`aws_fsx_data_repository_association` linking a path of the file system to the regional S3 data bucket (auto-import; auto-export optional)",
   "EFS with elastic throughput, TLS-only file system policy, backups, mount targets per AZ and access points",
   "Security groups for Lustre (988, 1018-1023) and NFS (2049); KMS encryption everywhere"],
  ["PERSISTENT_2 with a flexible throughput tier (125/250/500/1000 MB/s/TiB) and valid capacities (1200 or n×2400 GiB)",
   "S3 via a data repository association (PERSISTENT_2 has no import_path)",
   "FSx for Lustre is not mountable across accounts: each account/region gets its own, fed by its local replica",
   "EFS elastic throughput and access points for multi-tenant isolation"]),
"s3-data-bucket": ("The central ML data bucket (hub) or a regional replica (spoke).",
  ["Versioned, SSE-KMS (bucket keys), public-access-blocked, BucketOwnerEnforced bucket with a TLS-only policy",
   "Lifecycle for non-current versions and incomplete uploads; EventBridge notifications",
   "A server-access-log bucket (SSE-S3, as log delivery requires)",
   "Replica only: bucket policy letting the hub's replication role `s3:ReplicateObject`, `s3:ReplicateDelete`, `s3:ReplicateTags`, `s3:ObjectOwnerOverrideToBucketOwner`"],
  ["Versioning on both ends of replication",
   "Cross-account destination policy for the source replication role (granted through the source account root + `aws:PrincipalArn`, so the role may be created later)"]),
"s3-replication": ("Hub-and-spoke replication of the central bucket to every replica.",
  ["Replication role trusted by `s3.amazonaws.com` (scoped to the source account)",
   "One rule per destination and prefix, with unique priorities, delete-marker replication and SSE-KMS object selection",
   "Replication Time Control (15 minutes) and replication metrics on every rule",
   "`access_control_translation { owner = \"Destination\" }` plus `account` on cross-account rules",
   "Role policy: read source versions, replicate to every destination, `kms:Decrypt` on the source key and `kms:Encrypt` on each destination key (via S3 only)"],
  ["Same-account cross-region, cross-account same-region and cross-account cross-region destinations",
   "`datasets/` → STANDARD_IA, `checkpoints/` → GLACIER_IR by default",
   "RTC 15 min + metrics (validated: RTC only supports 15)",
   "Ownership translation for cross-account; KMS decrypt on source, encrypt on each destination"]),
"iam": ("IAM of one account/region (IAM is global, so regional roles carry the region in their name).",
  ["A data-access managed policy (datasets read, checkpoints write, KMS use) attachable to any node role",
   "Account roles (one unit per account): `TerraformExecutionRole` trusting the hub's CI role, and a read-only observer role for the monitoring sensors",
   "ParallelCluster head-node and compute-node roles + instance profiles under `/parallelcluster/`, with the ParallelCluster 3 minimal policies",
   "HyperPod instance role with `AmazonSageMakerClusterInstanceRolePolicy` and VPC ENI permissions"],
  ["`TerraformExecutionRole` in each account trusting the main account's CI role",
   "HyperPod execution role uses `AmazonSageMakerClusterInstanceRolePolicy`",
   "Cross-account access uses resource policies **and** IAM permissions"]),
"kms": ("A customer-managed key per account/region shared by the data bucket, FSx, EFS, EKS secrets, ECR and SNS.",
  ["Key with rotation and alias", "Key policy: account administration, regional service use (CloudWatch Logs, SNS), FSx data-repository access, optional cross-account decrypt and replica writers"],
  ["Shared KMS key per region; the hub key lets workload accounts decrypt (ECR images)",
   "Each replica key lets the hub's replication role encrypt replicas"]),
"ecr": ("The hub ECR registry.",
  ["Repositories with IMMUTABLE tags, scan on push, KMS encryption", "Lifecycle policy (untagged expiry, keep N tagged)", "Repository policy for cross-account pulls"],
  ["`image_tag_mutability = \"IMMUTABLE\"` for reproducible ML images", "Cross-account pull: repository policy + node-role permission + KMS decrypt"]),
"tfstate": ("The central state bucket (bootstrap unit).",
  ["Versioned, KMS-encrypted (own key), public-access-blocked bucket with TLS-only policy and `prevent_destroy`", "Access-log bucket", "Policy admitting the CI role"],
  ["Native S3 locking (`use_lockfile = true`, OpenTofu ≥ 1.10): no DynamoDB table", "Versioning, encryption, public access block"]),
"eks-cluster": ("An EKS cluster for GPU workloads wrapping `terraform-aws-modules/eks/aws` ~> 21.",
  ["Cluster with private endpoint, secrets encryption, control-plane logs, access entries (no implicit creator admin)",
   "System node group and an accelerated GPU node group (AL2023_x86_64_NVIDIA) with EFA support, a placement group and the VPC's EFA security group",
   "Karpenter submodule (controller role with Pod Identity, node role, interruption queue)",
   "EKS managed add-ons: Pod Identity agent, VPC CNI (pinned, validated ≥ 1.18.4), CoreDNS, kube-proxy, EFS and FSx CSI drivers (Pod Identity roles)"],
  ["Pod Identity (v21 default; IRSA removed)", "EFA on the node group (v21 moved EFA support to node groups; one subnet = one AZ)",
   "VPC CNI ≥ 1.18.4 for EFA", "GPU AMI AL2023_x86_64_NVIDIA"]),
"pcluster-api": ("The ParallelCluster API (API Gateway + Lambda behind CloudFormation), via the `pcluster_api` submodule of `aws-tf/parallelcluster/aws` 1.1.0.",
  ["The API stack, least-privilege by default (clusters bring their own IAM roles)"],
  ["The API is an explicit prerequisite: the aws-parallelcluster provider talks to it, not to EC2; it is its own unit that parallelcluster depends on",
   "ParallelCluster ≥ 3.11 for provider 1.1"]),
"parallelcluster": ("A ParallelCluster (Slurm) cluster through the `aws-tf/aws-parallelcluster` provider ~> 1.1.",
  ["`aws-parallelcluster_cluster` rendered from `terraform/cluster-configs/parallelcluster/training-cluster.yaml`",
   "Queues: CPU, on-demand p5 with EFA + placement group + DCGM GPU health checks, CAPACITY_BLOCK (dropped while no reservation exists)",
   "FSx for Lustre at /fsx and EFS at /shared"],
  ["CAPACITY_BLOCK queue with `CapacityReservationId` and MinCount = MaxCount (a precondition enforces it), in the reservation's AZ",
   "EFA + placement group on the p5 queue", "`HealthChecks.Gpu.Enabled` (DCGM)", "Custom instance roles under `/parallelcluster/`"]),
"hyperpod": ("SageMaker HyperPod through `hashicorp/awscc` (`awscc_sagemaker_cluster`, awscc ≥ 1.23).",
  ["Lifecycle-script bucket named `sagemaker-...` (versioned, KMS, TLS-only) and the scripts uploaded with `aws_s3_object`, plus `provisioning_parameters.json`",
   "The cluster: controller/login/compute instance groups, EBS volumes, deep health checks on start, `node_recovery = \"Automatic\"`, optional Training Plan per group, Slurm or EKS orchestrator",
   "Node permissions for cross-account ECR pulls and KMS"],
  ["Lifecycle-script bucket name must start with `sagemaker-` (validated)", "`on_create.sh` entrypoint (precondition)",
   "Deep health checks `InstanceStress`, `InstanceConnectivity` only on accelerated groups", "`TrainingPlanArn` per instance group",
   "FSx for Lustre: the CloudFormation/awscc schema has no FSx instance-storage config, so the lifecycle scripts mount it from `provisioning_parameters.json`"]),
"argocd-bootstrap": ("GitOps Bridge for an EKS cluster.",
  ["ArgoCD (helm provider, pinned chart)", "The cluster secret whose labels (`enable_<addon>`, purpose) and annotations (account, region, VPC, EFA SG, Karpenter role/queue, repo) ApplicationSets read",
   "The app-of-apps (argocd-apps chart) pointing at `terraform/gitops/bootstrap`"],
  ["Terraform provisions infra and writes metadata; ArgoCD manages Helm add-ons, NodePools and workloads"]),
"monitoring": ("Monitoring of the shared layer.",
  ["Alarms per replication rule on `ReplicationLatency` and `OperationsFailedReplication`", "FSx free-capacity alarms", "A CloudWatch dashboard (replication, FSx throughput/capacity)",
   "KMS-encrypted SNS alarm topic", "An Amazon Managed Prometheus workspace (with logging) for DCGM exporter metrics"],
  ["RTC's 15-minute SLA as the latency alarm threshold", "DCGM exporter → AMP"]),
"capacity-block": ("An EC2 Capacity Block.",
  ["`data.aws_ec2_capacity_block_offering` (instance type, count, duration, date window)", "`aws_ec2_capacity_block_reservation` when `purchase = true`, tagged `ml-clusters/capacity-pool` for Karpenter"],
  ["Capacity Block instance types, 1-64 instances, durations in day/week steps up to 182 days",
   "Outputs the reservation ID and AZ: cluster subnets using the block must be in that AZ",
   "Purchases are upfront and final: `purchase` defaults to false"]),
}

def fmt_type(t):
    t = t.strip()
    if t.startswith("${") and t.endswith("}"):
        t = t[2:-1]
    return re.sub(r"\s+", " ", t)

def fmt_default(body):
    if "default" not in body:
        return "required"
    d = body["default"]
    if isinstance(d, str) and d.startswith("${") and d.endswith("}"):
        d = d[2:-1]
        return f"`{d}`"
    s = json.dumps(d)
    if len(s) > 60:
        s = s[:57] + "..."
    return f"`{s}`"

def esc(s):
    return s.replace("|", "\\|").replace("\n", " ")

def main() -> None:
    for name, (summary, creates, facts) in INTRO.items():
        (MODULES / name / "README.md").write_text(render(name, summary, creates, facts))
        print("wrote", MODULES / name / "README.md")


def render(name, summary, creates, facts) -> str:
    variables = hcl.labelled(name, "variable")
    outputs = hcl.labelled(name, "output")
    (terraform,) = hcl.load(MODULES / name / "versions.tf")["terraform"]
    (providers,) = terraform["required_providers"]
    lines = [f"# {name}", "", summary, "", "## What it creates", ""]
    lines += [f"- {c}" for c in creates]
    lines += ["", "## Seed facts it honours", ""]
    lines += [f"- {f}" for f in facts]
    lines += ["", "## Requirements", "", f"- Terraform/OpenTofu `{terraform['required_version']}`"]
    lines += [f"- `{spec['source']}` `{spec['version']}`" for p, spec in providers.items()]
    mods = hcl.labelled(name, "module")
    for label, body in mods.items():
        lines.append(f"- module `{body['source']}` `{body.get('version','')}`")
    if (MODULES / name / "tests").is_dir():
        lines += ["", "## Tests", "", "`tests/*.tftest.hcl` run with `tofu test` (OpenTofu >= 1.8) against mocked providers; they cannot run in this repository's CI (no provider is installable here)."]
    lines += ["", "## Inputs", "", "| Name | Type | Default | Description |", "|------|------|---------|-------------|"]
    for v, body in variables.items():
        lines.append(f"| `{v}` | `{esc(fmt_type(body.get('type','any')))}` | {esc(fmt_default(body))} | {esc(body.get('description',''))} |")
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for o, body in outputs.items():
        lines.append(f"| `{o}` | {esc(body.get('description',''))} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
