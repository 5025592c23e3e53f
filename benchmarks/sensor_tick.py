"""What one sensor tick costs, as the estate grows: AWS API calls and wall time, against the emulator.

    .venv/bin/python benchmarks/sensor_tick.py                 # sizes 10 100 1000
    .venv/bin/python benchmarks/sensor_tick.py --sizes 10 50   # quicker

For 2 accounts x 2 regions (the estate's four slices) it seeds N replication rules (N replica
buckets, spread over the three replica units), a HyperPod cluster of N nodes and N Capacity Blocks,
then runs one warm tick of each sensor exactly as the daemon does (build_sensor_context) and, side by
side, a naive per-resource implementation of the same question:

- replication: ours lists the tagged buckets per slice (Tagging API), reads each source bucket's
  rules once, lists the replication metrics per slice and fetches them 500 at a time with
  get_metric_data. Naive: list_buckets, get_bucket_tagging per bucket, get_metric_statistics per
  rule and metric.
- cluster health (HyperPod nodes): ours pages list_cluster_nodes 100 at a time. Naive:
  describe_cluster_node per node. (The emulator cannot page past 100 nodes of one cluster, so the
  N nodes are spread over clusters of at most 100 nodes: ours then grows with clusters.)
- capacity: ours pages describe_capacity_reservations per slice. Naive: one describe per
  reservation. The emulator has no capacity reservations, so both run against botocore Stubbers:
  the call counts are real, the wall times are not AWS latencies.

The emulator runs on this machine, so wall times are lower bounds of what AWS latency adds; the
call counts are what matters for API rate limits. Sessions are warm (cached, as in a long-lived
code server): one extra STS call per account/region happens on the first tick only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ml_clusters.estate import default_live_dir, load_estate  # noqa: E402
from ml_clusters.resources.aws import AwsAccounts, clear_session_cache, count_api_calls  # noqa: E402
from ml_clusters.sensors import build_monitoring_defs, capacity  # noqa: E402
from ml_clusters.sensors.drift import clear_state_cache  # noqa: E402
from ml_clusters.translator import TerragruntTranslator  # noqa: E402
from tests.monitoring.emulator import MAIN, SECONDARY, Emulator, tag_list, unit_tags  # noqa: E402
from tests.monitoring.stubs import StubbedAwsAccounts  # noqa: E402
from tests.support.moto_server import emulator_environment, moto_server, reset  # noqa: E402

CENTRAL = "ml-clusters-data-483026362307-us-east-1"
CENTRAL_UNIT = "main-account/us-east-1/s3-central-data"
REPLICA_UNITS = [
    ("main-account/us-west-2/s3-data-replica", MAIN, "us-west-2"),
    ("secondary-account/us-east-1/s3-data-replica", SECONDARY, "us-east-1"),
    ("secondary-account/us-west-2/s3-data-replica", SECONDARY, "us-west-2"),
]
HYPERPOD_UNIT = "secondary-account/us-west-2/hyperpod-slurm"
CAPACITY_UNIT = "main-account/us-east-1/capacity-block"
NOW = datetime.now(timezone.utc)
NODES_PER_CLUSTER = 100


# --- seeding -------------------------------------------------------------------------------------------


def seed(emulator: Emulator, n: int) -> list[tuple[str, str, str, str]]:
    """N rules central → N replica buckets; returns (rule id, bucket, account, region) per rule."""
    emulator.bucket(MAIN, "us-east-1", CENTRAL, CENTRAL_UNIT)
    rules = []
    clients = {}
    for i in range(n):
        unit, account, region = REPLICA_UNITS[i % len(REPLICA_UNITS)]
        bucket = f"bench-replica-{i:04d}-{account}"
        s3 = clients.setdefault((account, region), emulator.client(account, region, "s3"))
        kwargs: dict[str, Any] = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tag_list(unit_tags(unit))})
        rules.append((f"rule-{i:04d}", bucket, account, region))
    emulator.replication(MAIN, "us-east-1", CENTRAL, {rule: bucket for rule, bucket, _, _ in rules})
    # S3 publishes every rule's metrics in the source owner's account, in the destination Region.
    by_region: dict[str, list[dict]] = {}
    at = NOW - timedelta(minutes=2)
    for rule, bucket, _, region in rules:
        dims = [{"Name": "SourceBucket", "Value": CENTRAL}, {"Name": "DestinationBucket", "Value": bucket}, {"Name": "RuleId", "Value": rule}]
        for name, value in (("ReplicationLatency", 60.0), ("OperationsPendingReplication", 1.0), ("BytesPendingReplication", 10.0), ("OperationsFailedReplication", 0.0)):
            by_region.setdefault(region, []).append({"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": at})
    for region, data in by_region.items():
        cloudwatch = emulator.client(MAIN, region, "cloudwatch")
        for start in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace="AWS/S3", MetricData=data[start : start + 1000])
    # The emulator's list_cluster_nodes pagination breaks past 100 nodes (it repeats its NextToken),
    # so N nodes are spread over HyperPod clusters of at most 100 nodes each.
    sagemaker = emulator.client(SECONDARY, "us-west-2", "sagemaker")
    for number, start in enumerate(range(0, n, NODES_PER_CLUSTER)):
        sagemaker.create_cluster(
            ClusterName=f"hp-slurm-{number}",
            InstanceGroups=[
                {
                    "InstanceGroupName": "workers",
                    "InstanceType": "ml.p5.48xlarge",
                    "InstanceCount": min(NODES_PER_CLUSTER, n - start),
                    "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/hp/", "OnCreate": "on_create.sh"},
                    "ExecutionRole": f"arn:aws:iam::{SECONDARY}:role/hyperpod-exec",
                    "ThreadsPerCore": 1,
                }
            ],
            Tags=tag_list(unit_tags(HYPERPOD_UNIT)),
        )
    return rules


def reservations(n: int) -> list[dict]:
    return [
        {
            "CapacityReservationId": f"cr-{i:017x}",
            "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-1a",
            "TotalInstanceCount": 2,
            "State": "active",
            "EndDate": NOW + timedelta(days=10),
            "ReservationType": "capacity-block",
            "Tags": tag_list(unit_tags(CAPACITY_UNIT)),
        }
        for i in range(n)
    ]


# --- the naive per-resource approach -------------------------------------------------------------------


def naive_replication(aws: AwsAccounts, rules: list[tuple[str, str, str, str]]) -> None:
    bucket_unit = {}
    for account in (MAIN, SECONDARY):
        s3 = aws.client(account, "us-east-1", "s3")
        for bucket in s3.list_buckets()["Buckets"]:
            tags = s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet", [])
            bucket_unit[bucket["Name"]] = {t["Key"]: t["Value"] for t in tags}.get("ml-clusters:unit")
    aws.client(MAIN, "us-east-1", "s3").get_bucket_replication(Bucket=CENTRAL)
    for rule, bucket, _, region in rules:
        cloudwatch = aws.client(MAIN, region, "cloudwatch")
        dims = [{"Name": "SourceBucket", "Value": CENTRAL}, {"Name": "DestinationBucket", "Value": bucket}, {"Name": "RuleId", "Value": rule}]
        for name, stat in (("ReplicationLatency", "Maximum"), ("OperationsPendingReplication", "Maximum"), ("BytesPendingReplication", "Maximum"), ("OperationsFailedReplication", "Sum")):
            cloudwatch.get_metric_statistics(
                Namespace="AWS/S3", MetricName=name, Dimensions=dims, StartTime=NOW - timedelta(minutes=15), EndTime=NOW, Period=900, Statistics=[stat]
            )


def naive_hyperpod(aws: AwsAccounts) -> None:
    sagemaker = aws.client(SECONDARY, "us-west-2", "sagemaker")
    for cluster in sagemaker.list_clusters()["ClusterSummaries"]:
        for page in sagemaker.get_paginator("list_cluster_nodes").paginate(ClusterName=cluster["ClusterName"]):
            for node in page["ClusterNodeSummaries"]:
                sagemaker.describe_cluster_node(ClusterName=cluster["ClusterName"], NodeId=node["InstanceId"])


def naive_capacity(aws: StubbedAwsAccounts, blocks: list[dict]) -> None:
    for block in blocks:
        aws.client(MAIN, "us-east-1", "ec2").describe_capacity_reservations(CapacityReservationIds=[block["CapacityReservationId"]])


# --- measuring ---------------------------------------------------------------------------------------------


def measure(run: Callable[[], Any]) -> tuple[int, float, dict]:
    with count_api_calls() as tally:
        started = time.perf_counter()
        run()
        seconds = time.perf_counter() - started
    return tally.total, seconds, dict(tally.calls)


def sensor_tick(defs: dg.Definitions, name: str, instance: dg.DagsterInstance, aws: AwsAccounts | None = None) -> Callable[[], Any]:
    def run() -> Any:
        sensor = defs.resolve_sensor_def(name)
        resources = dict(defs.resources or {})
        if aws is not None:
            resources["aws_accounts"] = aws
        return sensor(dg.build_sensor_context(instance=instance, resources=resources, sensor_name=name))

    return run


def queue_capacity(aws: StubbedAwsAccounts, blocks: list[dict], slices: list[tuple[str, str]], naive: bool) -> int:
    """Queue what AWS would answer; returns the number of calls queued (stubbed calls skip HTTP,
    so they are counted here rather than by the request counter)."""
    from ml_clusters.sensors.capacity import RESERVATION_FILTERS

    flt = {"Filters": RESERVATION_FILTERS}
    ec2 = aws.stub(MAIN, "us-east-1", "ec2")
    if naive:
        for block in blocks:
            ec2.add_response("describe_capacity_reservations", {"CapacityReservations": [block]}, {"CapacityReservationIds": [block["CapacityReservationId"]]})
        return len(blocks)
    # One page per 1,000 reservations (EC2's MaxResults ceiling), chained by NextToken.
    pages = [blocks[i : i + 1000] for i in range(0, len(blocks), 1000)] or [[]]
    for number, page in enumerate(pages):
        response: dict[str, Any] = {"CapacityReservations": page}
        params = dict(flt)
        if number:
            params["NextToken"] = f"page-{number}"
        if number + 1 < len(pages):
            response["NextToken"] = f"page-{number + 1}"
        ec2.add_response("describe_capacity_reservations", response, params)
    for account, region in slices:
        if (account, region) != (MAIN, "us-east-1"):
            aws.stub(account, region, "ec2").add_response("describe_capacity_reservations", {"CapacityReservations": []}, flt)
        aws.stub(account, region, "sagemaker").add_response("list_training_plans", {"TrainingPlanSummaries": []}, {})
    return len(pages) + 2 * len(slices) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    console = Console(width=150)
    estate = load_estate(default_live_dir())
    translator = TerragruntTranslator()
    table = Table(title="One sensor tick: API calls and wall time (2 accounts x 2 regions, warm sessions)")
    for column in ("N", "sensor", "calls (ours)", "calls (naive)", "naive/ours", "whole tick s (ours)", "s (naive)", "naive/ours"):
        table.add_column(column, justify="right" if column != "sensor" else "left")
    breakdown: list[str] = []

    with moto_server() as endpoint, dg.instance_for_test() as instance:
        os.environ.update(emulator_environment(endpoint))
        defs = build_monitoring_defs(estate, translator, capacity_extension_job=None)
        capacity_slices = sorted({(u.account.id, u.region) for u in capacity.target_units(estate)})
        for n in args.sizes:
            reset(endpoint)
            clear_session_cache()
            clear_state_cache()
            emulator = Emulator(endpoint)
            console.print(f"[dim]seeding N={n} …[/dim]")
            rules = seed(emulator, n)
            aws = AwsAccounts()
            for name in ("replication_lag_sensor", "cluster_health_sensor"):
                sensor_tick(defs, name, instance)()  # warm the sessions (STS) once, as a running daemon has
            ours = measure(sensor_tick(defs, "replication_lag_sensor", instance))
            naive = measure(lambda: naive_replication(aws, rules))
            add_row(table, n, f"replication ({n} rules, {n} buckets)", ours, naive)
            breakdown.append(f"N={n} replication, ours: {ours[2]}")

            ours = measure(sensor_tick(defs, "cluster_health_sensor", instance))
            naive = measure(lambda: naive_hyperpod(aws))
            # Compare the HyperPod part only (the tick also reads EKS, CloudFormation and FSx).
            hyperpod_calls = sum(c for op, c in ours[2].items() if op.startswith("sagemaker."))
            clusters = -(-n // NODES_PER_CLUSTER)
            add_row(table, n, f"cluster health: HyperPod calls ({n} nodes, {clusters} clusters)", (hyperpod_calls, ours[1], ours[2]), naive)
            breakdown.append(f"N={n} cluster health (whole tick: {ours[0]} calls), ours: {ours[2]}")

            stubbed = StubbedAwsAccounts()
            blocks = reservations(n)
            ours_calls = queue_capacity(stubbed, blocks, capacity_slices, naive=False)
            ours = measure(sensor_tick(defs, "capacity_expiry_sensor", instance, aws=stubbed))
            stubbed.assert_all_consumed()
            naive_calls = queue_capacity(stubbed, blocks, capacity_slices, naive=True)
            naive = measure(lambda: naive_capacity(stubbed, blocks))
            stubbed.assert_all_consumed()
            add_row(table, n, f"capacity ({n} blocks, stubbed)", (ours_calls, ours[1], {}), (naive_calls, naive[1], {}))
    console.print(table)
    for line in breakdown:
        console.print(f"[dim]{line}[/dim]")


def add_row(table: Table, n: int, label: str, ours: tuple, naive: tuple) -> None:
    calls_ratio = naive[0] / ours[0] if ours[0] else float("inf")
    time_ratio = naive[1] / ours[1] if ours[1] else float("inf")
    table.add_row(str(n), label, str(ours[0]), str(naive[0]), f"{calls_ratio:.1f}x", f"{ours[1]:.2f}", f"{naive[1]:.2f}", f"{time_ratio:.1f}x")


if __name__ == "__main__":
    main()
