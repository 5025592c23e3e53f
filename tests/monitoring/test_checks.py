"""The checks are declared on the unit assets (so the UI shows sensor results on them) and can be
executed on demand, running the same probe as the sensor."""

from __future__ import annotations

import dagster as dg

from ml_clusters.build import build_defs
from tests.monitoring.emulator import MAIN, state_resource, state_v4, tag_list, unit_tags

EXPECTED = {
    "replication_within_rtc": {
        "main-account/us-east-1/s3-replication",
        "main-account/us-west-2/s3-data-replica",
        "secondary-account/us-east-1/s3-data-replica",
        "secondary-account/us-west-2/s3-data-replica",
    },
    "capacity_not_expiring": {
        "main-account/us-east-1/capacity-block",
        "main-account/us-east-1/eks-training",
        "main-account/us-east-1/parallelcluster",
        "main-account/us-west-2/eks-inference",
        "secondary-account/us-west-2/eks-training",
        "secondary-account/us-west-2/hyperpod-slurm",
    },
    "cluster_healthy": {
        "main-account/us-east-1/eks-training",
        "main-account/us-east-1/parallelcluster",
        "main-account/us-west-2/eks-inference",
        "secondary-account/us-west-2/eks-training",
        "secondary-account/us-west-2/hyperpod-slurm",
        "main-account/us-east-1/shared-storage",
        "main-account/us-west-2/shared-storage",
        "secondary-account/us-west-2/shared-storage",
    },
}


def full_defs(estate, translator) -> dg.Definitions:
    return build_defs(estate, translator)  # the code location's own assembly


def test_checks_are_declared_on_the_unit_assets(estate, translator):
    graph = full_defs(estate, translator).get_repository_def().asset_graph
    declared: dict[str, set[str]] = {}
    for key in graph.asset_check_keys:
        declared.setdefault(key.name, set()).add("/".join(key.asset_key.path))
    for name, units in EXPECTED.items():
        assert declared[name] == units, name
    assert declared["no_drift"] == set(estate.units)  # every unit keeps its state in S3
    assert "plan_safe" in declared  # the execution plane's own checks sit beside ours


def test_a_check_can_be_executed_on_demand(emulator, estate, translator, instance):
    ec2 = emulator.client(MAIN, "us-east-1", "ec2")
    tags = unit_tags("main-account/us-east-1/networking")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list(tags)}])["Vpc"]["VpcId"]
    emulator.put_state(
        "main/us-east-1/networking/terraform.tfstate",
        state_v4(11, [state_resource("aws_vpc", "this", {"id": vpc, "cidr_block": "10.0.0.0/16", "tags_all": tags})]),
    )
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "ManagedBy", "Value": "console"}])
    key = dg.AssetCheckKey(dg.AssetKey(["main-account", "us-east-1", "networking"]), "no_drift")
    defs = dg.Definitions.merge(
        full_defs(estate, translator), dg.Definitions(jobs=[dg.define_asset_job("one_check", selection=dg.AssetSelection.checks(key))])
    )
    result = defs.resolve_job_def("one_check").execute_in_process(instance=instance)
    assert result.success
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.asset_check_key == key
    assert not evaluation.passed
    assert "tags.ManagedBy terraform → console" in evaluation.description
    recorded = instance.get_latest_asset_check_evaluation_record(key)
    assert recorded is not None and recorded.event.asset_check_evaluation.passed is False
