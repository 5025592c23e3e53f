"""The seed facts the research report says break real deployments, checked in the code itself."""

from __future__ import annotations

import re

import pytest
import yaml

from ml_clusters.estate import load_estate
from tests.estate_static import hcl
from tests.estate_static.paths import LIVE_DIR, MODULES_DIR, TERRAFORM_DIR, files_under

ACCOUNTS = {"main-account": ("main", "483026362307"), "secondary-account": ("secondary", "159553542841")}
CIDRS = {
    ("main-account", "us-east-1"): "10.0.0.0/16",
    ("main-account", "us-west-2"): "10.1.0.0/16",
    ("secondary-account", "us-east-1"): "10.2.0.0/16",
    ("secondary-account", "us-west-2"): "10.3.0.0/16",
}
UNITS = {
    "main-account/us-east-1": {
        "s3-tfstate", "kms", "networking", "iam", "ecr", "s3-central-data", "s3-replication", "shared-storage",
        "eks-training", "argocd-bootstrap", "pcluster-api", "parallelcluster", "capacity-block", "monitoring",
    },
    "main-account/us-west-2": {"kms", "networking", "s3-data-replica", "shared-storage", "eks-inference", "argocd-bootstrap"},
    "secondary-account/us-east-1": {"kms", "networking", "iam", "s3-data-replica"},
    "secondary-account/us-west-2": {
        "kms", "networking", "iam", "s3-data-replica", "shared-storage", "eks-training", "argocd-bootstrap", "hyperpod-slurm",
    },
}


@pytest.fixture(scope="module")
def estate():
    return load_estate(LIVE_DIR)


# --- live tree ---------------------------------------------------------------------------------------


def test_every_unit_of_the_layout_exists(estate):
    found: dict[str, set[str]] = {}
    for path in estate.units:
        account, region, component = path.split("/")
        found.setdefault(f"{account}/{region}", set()).add(component)
    assert found == UNITS


def test_accounts_regions_and_cidrs(estate):
    for unit in estate.units.values():
        assert (unit.account.name, unit.account.id) == ACCOUNTS[unit.account.key]
    for (account, region), cidr in CIDRS.items():
        region_hcl = hcl.load(LIVE_DIR / account / region / "region.hcl")["locals"][0]
        assert (region_hcl["aws_region"], region_hcl["vpc_cidr"]) == (region, cidr)


def test_state_is_central_locked_and_keyed_per_account_region_component(estate):
    for unit in estate.units.values():
        state = unit.remote_state
        assert (state.backend, state.bucket, state.region) == ("s3", "ml-clusters-tfstate-483026362307", "us-east-1")
        assert state.use_lockfile is True
        assert state.key == f"{unit.account.name}/{unit.region}/{unit.component}/terraform.tfstate"


def test_generated_provider_assumes_the_execution_role_and_tags_the_unit():
    root = hcl.load(LIVE_DIR / "root.hcl")
    (generate,) = [body for block in root["generate"] for label, body in block.items() if label == "provider"]
    contents = generate["contents"]
    assert "role/TerraformExecutionRole" in contents
    assert '"ml-clusters:unit" = "${local.unit_path}"' in contents
    assert root["locals"][0]["unit_path"] == "${path_relative_to_include()}"
    assert root["remote_state"][0]["config"]["encrypt"] is True


def test_mock_outputs_are_limited_to_validate_and_plan():
    blocks = 0
    for path in files_under(LIVE_DIR, ".hcl"):
        for block in hcl.load(path).get("dependency", []):
            for name, body in block.items():
                blocks += 1
                if "mock_outputs" in body:
                    assert body.get("mock_outputs_allowed_terraform_commands") == ["validate", "plan"], f"{path}: {name}"
    assert blocks > 20


def test_cross_account_edges(estate):
    edges = estate.edges
    for replica in ("main-account/us-west-2", "secondary-account/us-east-1", "secondary-account/us-west-2"):
        assert (f"{replica}/s3-data-replica", "main-account/us-east-1/s3-central-data") in edges
        assert ("main-account/us-east-1/s3-replication", f"{replica}/s3-data-replica") in edges
    for cluster in ("eks-training", "hyperpod-slurm"):
        for hub in ("kms", "ecr"):
            assert (f"secondary-account/us-west-2/{cluster}", f"main-account/us-east-1/{hub}") in edges
    for eks in ("main-account/us-east-1/eks-training", "main-account/us-west-2/eks-inference", "secondary-account/us-west-2/eks-training"):
        deps = {d for (dependent, d) in edges if dependent == eks}
        assert any(d.endswith("/networking") for d in deps) and any(d.endswith("/iam") for d in deps)
    assert ("main-account/us-east-1/parallelcluster", "main-account/us-east-1/pcluster-api") in edges


# --- networking --------------------------------------------------------------------------------------


def test_efa_security_group_only_talks_to_itself():
    rules = hcl.resources("networking")
    efa_ref = "${aws_security_group.efa.id}"
    ingress = [b for (t, _), b in rules.items() if t == "aws_vpc_security_group_ingress_rule" and b["security_group_id"] == efa_ref]
    egress = [b for (t, _), b in rules.items() if t == "aws_vpc_security_group_egress_rule" and b["security_group_id"] == efa_ref]
    assert [(r["ip_protocol"], r["referenced_security_group_id"]) for r in ingress] == [("-1", efa_ref)]
    assert [(r["ip_protocol"], r["referenced_security_group_id"]) for r in egress] == [("-1", efa_ref)]
    assert not any("cidr_ipv4" in r or "cidr_ipv6" in r for r in ingress + egress)
    assert "ingress" not in rules[("aws_security_group", "efa")] and "egress" not in rules[("aws_security_group", "efa")]


def test_cluster_placement_group_and_s3_endpoint():
    rules = hcl.resources("networking")
    assert rules[("aws_placement_group", "gpu")]["strategy"] == "cluster"
    assert rules[("aws_vpc_endpoint", "s3")]["vpc_endpoint_type"] == "Gateway"


# --- storage and data --------------------------------------------------------------------------------


def test_fsx_is_persistent_2_with_a_data_repository_association():
    res = hcl.resources("shared-storage")
    fsx = res[("aws_fsx_lustre_file_system", "this")]
    assert fsx["deployment_type"] == "PERSISTENT_2"
    assert fsx["per_unit_storage_throughput"] == "${var.fsx_throughput_per_unit_storage}"
    assert ("aws_fsx_data_repository_association", "data") in res
    assert res[("aws_efs_file_system", "this")]["throughput_mode"] == "elastic"
    assert ("aws_efs_access_point", "this") in res


def test_replication_rules_rtc_metrics_and_ownership():
    config = hcl.resources("s3-replication")[("aws_s3_bucket_replication_configuration", "this")]
    rule = hcl.first(config["dynamic"])["rule"]["content"][0]
    destination = hcl.first(rule["destination"])
    assert hcl.first(destination["replication_time"])["status"] == "Enabled"
    assert hcl.first(destination["metrics"])["status"] == "Enabled"
    translation = hcl.first(destination["dynamic"])["access_control_translation"]
    assert hcl.first(translation["content"])["owner"] == "Destination"
    assert "cross_account" in translation["for_each"]
    variables = hcl.labelled("s3-replication", "variable")
    assert variables["replication_time_minutes"]["default"] == 15
    assert variables["prefix_rules"]["default"] == [
        {"prefix": "datasets/", "storage_class": "STANDARD_IA"},
        {"prefix": "checkpoints/", "storage_class": "GLACIER_IR"},
    ]
    trust = hcl.resources("s3-replication", "data")[("aws_iam_policy_document", "assume")]
    assert hcl.first(trust["statement"])["principals"][0]["identifiers"] == ["s3.amazonaws.com"]


def test_replica_bucket_policy_admits_the_replication_role():
    text = (MODULES_DIR / "s3-data-bucket" / "main.tf").read_text()
    for action in ("s3:ReplicateObject", "s3:ReplicateDelete", "s3:ObjectOwnerOverrideToBucketOwner"):
        assert f'"{action}"' in text
    assert hcl.resources("s3-data-bucket")[("aws_s3_bucket_versioning", "data")]["versioning_configuration"][0]["status"] == "Enabled"


def test_ecr_tags_are_immutable():
    repo = hcl.resources("ecr")[("aws_ecr_repository", "this")]
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert hcl.first(repo["image_scanning_configuration"])["scan_on_push"] is True


# --- clusters ----------------------------------------------------------------------------------------


def test_eks_wraps_the_v21_module_with_efa_gpu_nodes_and_addons():
    eks = hcl.labelled("eks-cluster", "module")["eks"]
    assert (eks["source"], eks["version"]) == ("terraform-aws-modules/eks/aws", "~> 21.0")
    gpu = eks["eks_managed_node_groups"]["gpu"]
    assert gpu["enable_efa_support"] == "${local.efa}"
    assert set(eks["addons"]) >= {"coredns", "vpc-cni", "kube-proxy", "eks-pod-identity-agent", "aws-efs-csi-driver", "aws-fsx-csi-driver"}
    assert hcl.labelled("eks-cluster", "module")["karpenter"]["source"].endswith("//modules/karpenter")
    gpu_var = hcl.labelled("eks-cluster", "variable")["gpu_node_group"]
    assert "AL2023_x86_64_NVIDIA" in gpu_var["type"]


def test_hyperpod_lifecycle_bucket_starts_with_sagemaker(estate):
    validation = hcl.labelled("hyperpod", "variable")["lifecycle_bucket_name"]["validation"][0]
    assert 'startswith(var.lifecycle_bucket_name, "sagemaker-")' in validation["condition"]
    unit = estate.unit("secondary-account/us-west-2/hyperpod-slurm")
    assert unit.inputs["lifecycle_bucket_name"].startswith("sagemaker-")
    assert (TERRAFORM_DIR / "cluster-configs/hyperpod/lifecycle-scripts/on_create.sh").is_file()
    cluster = hcl.resources("hyperpod")[("awscc_sagemaker_cluster", "this")]
    assert cluster["node_recovery"] == "${var.node_recovery}"
    assert hcl.labelled("hyperpod", "variable")["node_recovery"]["default"] == "Automatic"
    groups = unit.inputs["instance_groups"]
    assert {g["role"] for g in groups} == {"controller", "login", "compute"}
    gpu = [g for g in groups if g["role"] == "compute"][0]
    assert gpu["deep_health_checks"] == ["InstanceStress", "InstanceConnectivity"]


def _template_placeholders(text: str) -> set[str]:
    return set(re.findall(r"\$\{([a-z0-9_]+)\}", text))


def test_parallelcluster_capacity_block_queue_is_static():
    path = TERRAFORM_DIR / "cluster-configs/parallelcluster/training-cluster.yaml"
    config = yaml.safe_load(path.read_text())
    queues = {q["Name"]: q for q in config["Scheduling"]["SlurmQueues"]}
    (block,) = [q for q in queues.values() if q["CapacityType"] == "CAPACITY_BLOCK"]
    (compute,) = block["ComputeResources"]
    assert compute["MinCount"] == compute["MaxCount"] == "${capacity_block_instance_count}"
    assert compute["CapacityReservationTarget"]["CapacityReservationId"] == "${capacity_block_reservation_id}"
    p5 = queues["gpu-p5"]
    assert p5["Networking"]["PlacementGroup"]["Enabled"] is True
    assert p5["ComputeResources"][0]["Efa"]["Enabled"] is True
    assert p5["ComputeResources"][0]["HealthChecks"]["Gpu"]["Enabled"] is True
    assert {s["StorageType"] for s in config["SharedStorage"]} == {"FsxLustre", "Efs"}


def test_parallelcluster_template_variables_match_the_module():
    template = (TERRAFORM_DIR / "cluster-configs/parallelcluster/training-cluster.yaml").read_text()
    locals_ = {k: v for block in hcl.module("parallelcluster")["locals"] for k, v in block.items()}
    assert _template_placeholders(template) == set(locals_["template_vars"])


def test_parallelcluster_provider_and_api_prerequisite():
    (providers,) = hcl.load(MODULES_DIR / "parallelcluster" / "versions.tf")["terraform"][0]["required_providers"]
    assert providers["aws-parallelcluster"] == {"source": "aws-tf/aws-parallelcluster", "version": "~> 1.1"}
    api = hcl.labelled("pcluster-api", "module")["pcluster_api"]
    assert api["source"] == "aws-tf/parallelcluster/aws//modules/pcluster_api"


# --- GitOps ------------------------------------------------------------------------------------------


def _manifests(relative: str) -> list[dict]:
    with (TERRAFORM_DIR / "gitops" / relative).open() as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def test_karpenter_gpu_nodeclass_selects_capacity_reservations():
    (nodeclass,) = _manifests("charts/karpenter-gpu/templates/ec2nodeclass.yaml")
    assert nodeclass["apiVersion"] == "karpenter.k8s.aws/v1" and nodeclass["kind"] == "EC2NodeClass"
    assert nodeclass["spec"]["capacityReservationSelectorTerms"]


def test_karpenter_gpu_nodepools_only_disrupt_empty_nodes():
    pools = _manifests("charts/karpenter-gpu/templates/nodepools.yaml")
    assert {p["kind"] for p in pools} == {"NodePool"}
    for pool in pools:
        assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
    reserved = [p for p in pools if p["metadata"]["name"] == "gpu-reserved"][0]
    capacity = [r for r in reserved["spec"]["template"]["spec"]["requirements"] if r["key"] == "karpenter.sh/capacity-type"]
    assert capacity == [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["reserved"]}]


def test_addons_cover_gpu_plugins_and_are_selected_by_cluster_labels():
    appsets = {d["metadata"]["name"]: d for d in _manifests("bootstrap/addons.yaml") + _manifests("bootstrap/karpenter.yaml")}
    assert set(appsets) >= {"nvidia-device-plugin", "dcgm-exporter", "neuron", "aws-efa-k8s-device-plugin", "karpenter", "karpenter-gpu"}
    addon_labels = set(hcl.labelled("argocd-bootstrap", "variable")["addons"]["default"])
    for appset in appsets.values():
        (labels,) = [g["clusters"]["selector"]["matchLabels"] for g in appset["spec"]["generators"]]
        (label,) = labels
        assert label.removeprefix("enable_") in addon_labels, f"{appset['metadata']['name']} selects {label}"
