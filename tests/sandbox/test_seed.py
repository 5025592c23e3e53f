"""Seeding reads the estate and creates, in each account and region of the emulator, what the units' modules
create — tagged with the unit, recorded in a v4 state file per unit — and the faults are real AWS states."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ml_clusters.sandbox.emulator import EmulatorError
from ml_clusters.sandbox.faults import DRIFTED_TAGS
from ml_clusters.sandbox.seed import state_location

UNIT_TAG = "ml-clusters:unit"


def _state(seeded, path: str) -> dict:
    remote = seeded.estate.units[path].remote_state
    s3 = seeded.clients.get(seeded.result.state_account_id, remote.region, "s3")
    return json.loads(s3.get_object(Bucket=remote.bucket, Key=remote.key)["Body"].read())


def _tags(items) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def test_every_unit_has_a_v4_state_file_at_its_remote_state_key(seeded):
    bucket, region, owner = state_location(seeded.estate)
    s3 = seeded.clients.get(owner, region, "s3")
    keys = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }
    assert keys == {u.remote_state.key for u in seeded.estate.units.values()}
    for path in seeded.estate.units:
        state = _state(seeded, path)
        assert state["version"] == 4 and state["serial"] >= 1 and state["lineage"]
        # the file records exactly what seeding created and output for the unit, not an empty shell
        recorded = seeded.result.units[path]
        assert sum(len(r["instances"]) for r in state["resources"]) == len(recorded.state.resources), path
        assert {name: out["value"] for name, out in state["outputs"].items()} == recorded.outputs, path
        for resource in state["resources"]:
            for instance in resource["instances"]:
                tags_all = instance["attributes"].get("tags_all")
                if tags_all is not None:
                    assert tags_all[UNIT_TAG] == path, f"{path}: {resource['type']}.{resource['name']}"


def test_both_accounts_hold_their_units_resources_under_the_unit_tag(seeded):
    """Through the Resource Groups Tagging API, as a sensor sees it: each slice holds exactly the units of
    that account and region that created taggable resources."""
    seen: dict[tuple[str, str], set[str]] = {}
    for account_key, region in seeded.estate.regions:
        account = seeded.estate.accounts[account_key]
        tagging = seeded.clients.get(account.id, region, "resourcegroupstaggingapi")
        for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": UNIT_TAG}], ResourceTypeFilters=["ec2:vpc", "sagemaker:cluster", "fsx:file-system"]
        ):
            for item in page["ResourceTagMappingList"]:
                assert f":{account.id}:" in item["ResourceARN"]
                seen.setdefault((account_key, region), set()).add(_tags(item["Tags"])[UNIT_TAG])
    for (account_key, region), paths in seen.items():
        for path in paths:
            unit = seeded.estate.units[path]
            assert (unit.account.key, unit.region) == (account_key, region)
    expected = {p for p, u in seeded.estate.units.items() if u.module in {"networking", "shared-storage", "hyperpod"}}
    assert set().union(*seen.values()) == expected
    assert {a for a, _ in seen} == {"main-account", "secondary-account"}


def test_eks_clusters_carry_the_unit_tag_where_the_health_sensor_reads_it(seeded):
    eks_units = [s for s in seeded.result.units.values() if s.unit.module == "eks-cluster"]
    assert {s.unit.account.key for s in eks_units} == {"main-account", "secondary-account"}
    for seeded_unit in eks_units:
        unit = seeded_unit.unit
        eks = seeded.clients.get(unit.account.id, unit.region, "eks")
        assert eks.list_clusters()["clusters"] == [seeded_unit.outputs["cluster_name"]]
        cluster = eks.describe_cluster(name=seeded_unit.outputs["cluster_name"])["cluster"]
        assert cluster["tags"][UNIT_TAG] == unit.path
        assert cluster["version"] == unit.inputs["kubernetes_version"]


def test_central_bucket_replicates_to_every_replica_with_rtc_and_metrics(seeded):
    units = seeded.result.units
    central = units["main-account/us-east-1/s3-central-data"]
    replicas = [
        s for s in units.values() if s.unit.module == "s3-data-bucket" and s.outputs.get("bucket_role") == "replica"
    ]
    s3 = seeded.clients.get(central.unit.account.id, central.unit.region, "s3")
    rules = s3.get_bucket_replication(Bucket=central.outputs["bucket_name"])["ReplicationConfiguration"]["Rules"]
    destinations = {r["Destination"]["Bucket"] for r in rules}
    assert destinations == {f"arn:aws:s3:::{r.outputs['bucket_name']}" for r in replicas}
    assert len(replicas) == 3
    for rule in rules:
        assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
        assert rule["Destination"]["Metrics"]["Status"] == "Enabled"
    for replica in replicas:  # each replica lives in its own account and is versioned there
        replica_s3 = seeded.clients.get(replica.unit.account.id, replica.unit.region, "s3")
        assert replica_s3.get_bucket_versioning(Bucket=replica.outputs["bucket_name"])["Status"] == "Enabled"


def test_replication_metrics_are_in_the_source_account_and_destination_region(seeded):
    """ReplicationLatency lives in the source owner's account, in the destination bucket's region."""
    lag = seeded.fault("replication-lag")
    now = datetime.now(timezone.utc)
    worst: dict[str, float] = {}
    for rule in seeded.rules:
        cloudwatch = seeded.clients.get(rule.source_account_id, rule.destination_region, "cloudwatch")
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/S3",
            MetricName="ReplicationLatency",
            Dimensions=[
                {"Name": "SourceBucket", "Value": rule.source_bucket},
                {"Name": "DestinationBucket", "Value": rule.destination_bucket},
                {"Name": "RuleId", "Value": rule.rule_id},
            ],
            StartTime=now - timedelta(minutes=15),
            EndTime=now + timedelta(minutes=1),
            Period=900,
            Statistics=["Maximum"],
        )["Datapoints"]
        assert points, rule.rule_id
        worst[rule.rule_id] = max(p["Maximum"] for p in points)
    lagging = {r.rule_id for r in seeded.rules if r.lagging}
    assert len(lagging) == 1 and next(iter(lagging)) in lag.detail
    for rule_id, latency in worst.items():
        assert (latency > 900) == (rule_id in lagging), (rule_id, latency)


def test_degraded_node_group_is_what_describe_nodegroup_says(seeded):
    fault = seeded.fault("nodegroup-degraded")
    unit = seeded.result.units[fault.unit]
    eks = seeded.clients.get(unit.unit.account.id, unit.unit.region, "eks")
    cluster = unit.outputs["cluster_name"]
    statuses = {
        g: eks.describe_nodegroup(clusterName=cluster, nodegroupName=g)["nodegroup"]
        for g in unit.outputs["node_group_names"]
    }
    degraded = {g for g, n in statuses.items() if n["status"] == "DEGRADED"}
    assert len(degraded) == 1 and all(n["status"] in {"ACTIVE", "DEGRADED"} for n in statuses.values())
    issues = statuses[next(iter(degraded))]["health"]["issues"]
    assert issues[0]["code"] == "AsgInstanceLaunchFailures"


def test_failed_hyperpod_node_is_what_list_cluster_nodes_says(seeded):
    fault = seeded.fault("hyperpod-node-failure")
    unit = seeded.result.units[fault.unit]
    sagemaker = seeded.clients.get(unit.unit.account.id, unit.unit.region, "sagemaker")
    nodes = sagemaker.list_cluster_nodes(ClusterName=unit.outputs["cluster_name"])["ClusterNodeSummaries"]
    statuses = [n["InstanceStatus"]["Status"] for n in nodes]
    assert statuses.count("Failure") == 1 and statuses.count("Running") == len(nodes) - 1
    # the cluster's own instance groups come from the unit's inputs, not a hand list
    groups = {g["name"]: g["instance_count"] for g in seeded.estate.units[fault.unit].inputs["instance_groups"]}
    assert len(nodes) == sum(groups.values())


def test_drifted_vpc_differs_from_its_state_and_no_other_vpc_does(seeded):
    fault = seeded.fault("vpc-tag-drift")
    for path, unit in seeded.result.units.items():
        if unit.unit.module != "networking":
            continue
        state_vpc = next(r for r in _state(seeded, path)["resources"] if r["type"] == "aws_vpc")
        recorded = state_vpc["instances"][0]["attributes"]
        ec2 = seeded.clients.get(unit.unit.account.id, unit.unit.region, "ec2")
        live = _tags(ec2.describe_vpcs(VpcIds=[recorded["id"]])["Vpcs"][0]["Tags"])
        if path == fault.unit:
            assert live == {**recorded["tags_all"], **DRIFTED_TAGS} != recorded["tags_all"]
        else:
            assert live == recorded["tags_all"]


def test_what_the_emulator_lacks_is_noted_not_faked(seeded):
    capacity = [s for s in seeded.result.units.values() if s.unit.module == "capacity-block"]
    assert capacity, "the estate has a capacity-block unit"
    for unit in capacity:
        assert unit.state.resources == []
        assert any("Capacity Blocks are not emulated" in note for note in unit.notes)


def test_control_endpoint_names_a_missing_resource(emulator):
    with pytest.raises(EmulatorError, match="no EKS node group nope/gpu"):
        emulator.set_state(
            "eks-nodegroup",
            account="483026362307",
            region="us-east-1",
            cluster="nope",
            nodegroup="gpu",
            status="DEGRADED",
        )
    with pytest.raises(EmulatorError, match="kind must be one of"):
        emulator.set_state("bogus")
