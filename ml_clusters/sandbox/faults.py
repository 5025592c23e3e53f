"""The sandbox's injected faults: one real problem for each sensor to find, chosen from the estate.

| fault | how it is made | which sensor / check finds it |
|---|---|---|
| a replication rule over its RTC threshold | its ReplicationLatency series climbs past 15 min over the last hour | replication lag → `replication_within_rtc` on the lagging replica |
| a DEGRADED EKS node group | emulator control call (AWS offers no API to degrade a node group) | cluster health → `cluster_healthy` |
| a HyperPod node in `Failure` | emulator control call (likewise) | cluster health → `cluster_healthy` |
| a VPC whose live tags differ from its state | `ec2:CreateTags` after the state file was written (someone edited it in the console) | drift → `no_drift` |
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_clusters.sandbox.aws import AccountClients
from ml_clusters.sandbox.emulator import Emulator
from ml_clusters.sandbox.replication_metrics import ReplicationRule
from ml_clusters.sandbox.seed import SeededUnit, SeedResult

# Drift: what "someone" changed by hand on the VPC.
DRIFTED_TAGS = {"Name": "renamed-in-console", "DebugSession": "oncall-2024-11-02"}


@dataclass(frozen=True)
class Fault:
    kind: str  # replication-lag | nodegroup-degraded | hyperpod-node-failure | vpc-tag-drift
    unit: str  # unit path whose asset shows it
    detail: str


def replication_rules(result: SeedResult, lagging_unit: str | None) -> list[ReplicationRule]:
    """The seeded replication rules; those whose destination is `lagging_unit`'s bucket lag (first prefix only)."""
    buckets = {
        s.outputs.get("bucket_name"): path for path, s in result.units.items() if s.unit.module == "s3-data-bucket"
    }
    rules: list[ReplicationRule] = []
    for seeded in result.units.values():
        if seeded.unit.module != "s3-replication" or "rules" not in seeded.outputs:
            continue
        lag_marked = False
        for rule in seeded.outputs["rules"]:
            lagging = (
                lagging_unit is not None
                and buckets.get(rule["destination_bucket_name"]) == lagging_unit
                and not lag_marked
            )
            lag_marked = lag_marked or lagging
            rules.append(
                ReplicationRule(
                    rule_id=rule["rule_id"],
                    source_bucket=seeded.outputs["source_bucket_name"],
                    source_region=seeded.unit.region,
                    source_account_id=seeded.unit.account.id,
                    destination_bucket=rule["destination_bucket_name"],
                    destination_region=rule["destination_region"],
                    rtc_minutes=int(seeded.unit.inputs.get("replication_time_minutes", 15)),
                    lagging=lagging,
                )
            )
    return rules


def lagging_replica(result: SeedResult) -> str | None:
    """The replica the lag fault targets: a cross-account, cross-region one if the estate has it."""
    replicas = [s for s in result.units.values() if s.unit.module == "s3-data-bucket" and s.outputs.get("bucket_name")]
    sources = {
        s.outputs.get("source_bucket_name"): s for s in result.units.values() if s.unit.module == "s3-replication"
    }
    destinations = {r["destination_bucket_name"] for s in sources.values() for r in s.outputs.get("rules", [])}
    replicas = [s for s in replicas if s.outputs["bucket_name"] in destinations]
    if not replicas:
        return None
    source = next(iter(sources.values())).unit

    def remoteness(s: SeededUnit) -> tuple[int, str]:
        return (int(s.unit.account.key != source.account.key) + int(s.unit.region != source.region), s.unit.path)

    return max(replicas, key=remoteness).unit.path


def _first(result: SeedResult, module: str, output: str, prefer_other_than: str | None = None) -> SeededUnit | None:
    candidates = sorted(
        (s for s in result.units.values() if s.unit.module == module and s.outputs.get(output)),
        key=lambda s: (s.unit.account.key == prefer_other_than, s.unit.path),
    )
    return candidates[0] if candidates else None


def inject(
    result: SeedResult,
    clients: AccountClients,
    emulator: Emulator,
    lagging_unit: str | None,
    rules: list[ReplicationRule],
) -> list[Fault]:
    """Make the faults real in the emulator. `rules` are `replication_rules(result, lagging_unit)`, whose
    metric series (already published) carry the lag; they are passed in, not worked out again."""
    faults: list[Fault] = []
    if lagging_unit:
        for rule in (r for r in rules if r.lagging):
            faults.append(
                Fault(
                    "replication-lag",
                    lagging_unit,
                    f"rule {rule.rule_id} → {rule.destination_bucket}: ReplicationLatency "
                    f"climbs to ~{int(rule.rtc_minutes * 60 * 1.6 + 60)} s over the last hour (RTC threshold {rule.rtc_minutes * 60} s)",
                )
            )

    accounts = {s.unit.account for s in result.units.values() if s.unit.account}
    management = next((a.key for a in accounts if a.locals.get("is_management_account")), None)
    hub_region = next((s.unit.remote_state.region for s in result.units.values() if s.unit.remote_state), None)

    eks = _first(result, "eks-cluster", "node_group_names", prefer_other_than=management)
    if eks:
        names = eks.outputs["node_group_names"]
        group = next((n for n in names if "gpu" in n), names[-1])
        emulator.set_state(
            "eks-nodegroup",
            account=eks.unit.account.id,
            region=eks.unit.region,
            cluster=eks.outputs["cluster_name"],
            nodegroup=group,
            status="DEGRADED",
            issues=[
                {
                    "code": "AsgInstanceLaunchFailures",
                    "message": "Could not launch On-Demand Instances. InsufficientInstanceCapacity - "
                    "We currently do not have sufficient capacity in the Availability Zone you requested.",
                    "resourceIds": [f"eks-{group}-asg"],
                }
            ],
        )
        faults.append(
            Fault(
                "nodegroup-degraded",
                eks.unit.path,
                f"node group {eks.outputs['cluster_name']}/{group} is DEGRADED (AsgInstanceLaunchFailures)",
            )
        )

    hyperpod = _first(result, "hyperpod", "cluster_name")
    if hyperpod:
        sagemaker = clients.get(hyperpod.unit.account.id, hyperpod.unit.region, "sagemaker")
        nodes = sagemaker.list_cluster_nodes(ClusterName=hyperpod.outputs["cluster_name"])["ClusterNodeSummaries"]
        workers = [n for n in nodes if "worker" in n["InstanceGroupName"]] or nodes
        if workers:
            node = workers[-1]["InstanceId"]
            emulator.set_state(
                "hyperpod-node",
                account=hyperpod.unit.account.id,
                region=hyperpod.unit.region,
                cluster=hyperpod.outputs["cluster_name"],
                node_id=node,
                status="Failure",
            )
            faults.append(
                Fault(
                    "hyperpod-node-failure",
                    hyperpod.unit.path,
                    f"HyperPod node {hyperpod.outputs['cluster_name']}/{node} is in Failure",
                )
            )

    # The management account's VPC outside the hub region, so the drift is not on the most-used unit.
    networks = sorted(
        (s for s in result.units.values() if s.unit.module == "networking" and s.outputs.get("vpc_id")),
        key=lambda s: (s.unit.account.key != management, s.unit.region == hub_region, s.unit.path),
    )
    if networks:
        net = networks[0]
        vpc_id = net.outputs["vpc_id"]
        clients.get(net.unit.account.id, net.unit.region, "ec2").create_tags(
            Resources=[vpc_id], Tags=[{"Key": k, "Value": v} for k, v in DRIFTED_TAGS.items()]
        )
        faults.append(
            Fault(
                "vpc-tag-drift",
                net.unit.path,
                f"VPC {vpc_id}: tags edited outside Terraform ({', '.join(f'{k}={v}' for k, v in DRIFTED_TAGS.items())})",
            )
        )
    return faults
