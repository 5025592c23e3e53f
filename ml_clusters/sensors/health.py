"""cluster_health_sensor → check `cluster_healthy` on every cluster unit and every shared-storage unit.

Per account/region:
- EKS: `list_clusters`, then per cluster `describe_cluster`, `list_nodegroups`, `describe_nodegroup`
  (status, incl. DEGRADED, and `health.issues`). EKS has no batch describe, so these grow with
  clusters and node groups (a handful per region), never with nodes.
- HyperPod: `sagemaker.list_clusters` (status included), then `list_cluster_nodes` paginated per
  cluster (100 nodes a page); a node in Failure, NotFound or ShuttingDown fails the check; one in
  Pending, SystemUpdating or DeepHealthCheckInProgress is noted (on its way to Running), not failed.
- ParallelCluster: the ParallelCluster API's DescribeCluster (clusterStatus, computeFleetStatus) when
  the `pcluster-api` unit recorded its invoke URL, else the cluster's CloudFormation stack status from
  one paginated `describe_stacks`.
- FSx: `describe_file_systems` paginated; Lifecycle must be AVAILABLE. A file system whose Lifecycle
  is not reported (the emulator) leaves its unit unknown (skipped, with the reason), never healthy.

Nothing found for a unit: a WARN failure when the unit was applied (it has a materialization), else
an observation "not deployed" — never a pass.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpsession import URLLib3Session

from ml_clusters.estate import Estate, Unit
from ml_clusters.resources.aws import describe_aws_error, record_api_call
from ml_clusters.sensors.core import Outcome, ProbeContext, ProbeReport, Slice, md_table, skipped_reason
from ml_clusters.sensors.mapping import CLUSTER_MODULES, ResourceIndex, tag_dict, tagged_resources

CHECK_NAME = "cluster_healthy"
AREA = "health"
STORAGE_MODULE = "shared-storage"
PCLUSTER_API_MODULE = "pcluster-api"

# Which probe source a unit's verdict depends on.
SOURCE_OF_MODULE = {
    "eks-cluster": "eks",
    "hyperpod": "hyperpod",
    "parallelcluster": "parallelcluster",
    STORAGE_MODULE: "fsx",
}

EKS_CLUSTER_OK, EKS_CLUSTER_BAD = {"ACTIVE"}, {"FAILED", "DELETING"}
NODEGROUP_OK, NODEGROUP_BAD = {"ACTIVE"}, {"DEGRADED", "CREATE_FAILED", "DELETE_FAILED", "DELETING"}
HYPERPOD_OK, HYPERPOD_BAD = {"InService"}, {"Failed", "RollingBack", "Deleting"}
# list_cluster_nodes InstanceStatus.Status: Running, Failure, Pending, ShuttingDown, SystemUpdating,
# DeepHealthCheckInProgress, NotFound.
HYPERPOD_NODE_BAD = {"Failure", "NotFound", "ShuttingDown"}
HYPERPOD_NODE_TRANSITIONAL = {"Pending", "SystemUpdating", "DeepHealthCheckInProgress"}
FSX_OK, FSX_BAD = {"AVAILABLE"}, {"FAILED", "MISCONFIGURED", "DELETING", "MISCONFIGURED_UNAVAILABLE"}
PCLUSTER_OK = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
FLEET_BAD = {"PROTECTED", "UNKNOWN"}


def target_units(estate: Estate) -> list[Unit]:
    return [u for u in estate.units.values() if u.module in CLUSTER_MODULES or u.module == STORAGE_MODULE]


@dataclass
class Component:
    """One thing whose health we read: a cluster, a node group, a node set, a file system."""

    unit: str
    kind: str
    name: str
    status: str
    healthy: bool | None  # None: transitional or not reported — noted, not failed
    detail: str = ""
    numbers: dict[str, int] = field(default_factory=dict)
    unverifiable: bool = False  # the endpoint does not report its status: neither healthy nor broken


def _grade(status: str, ok: set[str], bad: set[str]) -> bool | None:
    if status in ok:
        return True
    if status in bad or status.endswith("FAILED"):
        return False
    return None  # CREATING, UPDATING, ...: in motion, not broken


# --- EKS ---------------------------------------------------------------------------------------------


def _eks(ctx: ProbeContext, slice_: Slice, index: ResourceIndex, eks_units: set[str]) -> list[Component]:
    eks = ctx.client(slice_, "eks")
    found: list[Component] = []
    names = [n for page in eks.get_paginator("list_clusters").paginate() for n in page.get("clusters", [])]
    for name in names:
        cluster = eks.describe_cluster(name=name)["cluster"]
        unit = index.unit_for(tags=cluster.get("tags"), arn=cluster.get("arn"), identifiers=[name], prefer=eks_units)
        if unit is None:
            continue
        status = cluster.get("status", "?")
        health_issues = (cluster.get("health") or {}).get("issues") or []
        healthy = _grade(status, EKS_CLUSTER_OK, EKS_CLUSTER_BAD)
        if health_issues:
            healthy = False
        detail = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in health_issues)
        found.append(Component(unit, "eks cluster", name, status, healthy, detail, {"eks_clusters": 1}))
        groups = [g for page in eks.get_paginator("list_nodegroups").paginate(clusterName=name) for g in page.get("nodegroups", [])]
        for group in groups:
            nodegroup = eks.describe_nodegroup(clusterName=name, nodegroupName=group)["nodegroup"]
            status = nodegroup.get("status", "?")
            issues = (nodegroup.get("health") or {}).get("issues") or []
            healthy = _grade(status, NODEGROUP_OK, NODEGROUP_BAD)
            if issues:
                healthy = False
            detail = "; ".join(
                f"{i.get('code')}: {i.get('message')}" + (f" ({len(i.get('resourceIds') or [])} resource(s))" if i.get("resourceIds") else "")
                for i in issues
            )
            desired = int((nodegroup.get("scalingConfig") or {}).get("desiredSize") or 0)
            numbers = {"eks_nodegroups": 1, "eks_nodegroups_unhealthy": int(healthy is False), "eks_nodes_desired": desired}
            found.append(Component(unit, "eks node group", f"{name}/{group}", status, healthy, detail, numbers))
    return found


# --- HyperPod ------------------------------------------------------------------------------------------


def _hyperpod(ctx: ProbeContext, slice_: Slice, index: ResourceIndex, hyperpod_units: set[str]) -> list[Component]:
    sagemaker = ctx.client(slice_, "sagemaker")
    clusters = [c for page in sagemaker.get_paginator("list_clusters").paginate() for c in page.get("ClusterSummaries", [])]
    if not clusters:
        return []
    index.add_tagged(tagged_resources(ctx.client(slice_, "resourcegroupstaggingapi"), ["sagemaker:cluster"]))
    found: list[Component] = []
    for cluster in clusters:
        name, arn = cluster["ClusterName"], cluster["ClusterArn"]
        unit = index.unit_for(arn=arn, identifiers=[name], prefer=hyperpod_units)
        if unit is None:
            continue
        status = cluster.get("ClusterStatus", "?")
        found.append(Component(unit, "hyperpod cluster", name, status, _grade(status, HYPERPOD_OK, HYPERPOD_BAD), "", {"hyperpod_clusters": 1}))
        by_status: dict[str, list[str]] = {}
        for page in sagemaker.get_paginator("list_cluster_nodes").paginate(ClusterName=name, PaginationConfig={"PageSize": 100}):
            for node in page.get("ClusterNodeSummaries", []):
                node_status = (node.get("InstanceStatus") or {}).get("Status", "?")
                by_status.setdefault(node_status, []).append(f"{node.get('InstanceGroupName', '?')}/{node.get('InstanceId', '?')}")
        total = sum(len(v) for v in by_status.values())
        not_running = {s: ids for s, ids in by_status.items() if s != "Running"}
        # Failure/NotFound/ShuttingDown are broken; Pending, SystemUpdating, DeepHealthCheckInProgress
        # are on their way (back) to Running: noted, not failed. An unknown status is noted too.
        broken = sum(len(ids) for s, ids in not_running.items() if s in HYPERPOD_NODE_BAD)
        moving = sum(len(ids) for s, ids in not_running.items() if s not in HYPERPOD_NODE_BAD)
        detail = "; ".join(f"{s}: {', '.join(ids[:5])}{' …' if len(ids) > 5 else ''}" for s, ids in sorted(not_running.items()))
        summary = ", ".join(f"{len(ids)} {s}" for s, ids in sorted(by_status.items())) or "no nodes"
        found.append(
            Component(
                unit,
                "hyperpod nodes",
                name,
                summary,
                False if broken else (None if moving else True),
                detail,
                {
                    "hyperpod_nodes": total,
                    "hyperpod_nodes_not_running": broken + moving,
                    "hyperpod_nodes_broken": broken,
                    "hyperpod_nodes_transitional": moving,
                },
            )
        )
    return found


# --- ParallelCluster ------------------------------------------------------------------------------------


def _pcluster_api_urls(index: ResourceIndex, estate: Estate, slice_: Slice) -> list[str]:
    """URLs the account's pcluster-api unit recorded at its last apply (its API Gateway invoke URL)."""
    candidates = index.units_with_output(lambda v: v.startswith(("https://", "http://")))
    urls = []
    for path, values in candidates.items():
        unit = estate.units.get(path)
        if unit and unit.module == PCLUSTER_API_MODULE and unit.account and unit.account.key == slice_.account.key:
            urls.extend(sorted(values))
    return urls


def describe_pcluster(ctx: ProbeContext, slice_: Slice, url: str, cluster_name: str) -> dict[str, Any]:
    """ParallelCluster API `DescribeCluster`, signed with the observer role (SigV4, execute-api)."""
    endpoint = f"{url.rstrip('/')}/v3/clusters/{urllib.parse.quote(cluster_name)}?region={slice_.region}"
    request = AWSRequest(method="GET", url=endpoint, headers={"Accept": "application/json"})
    api_region = urllib.parse.urlparse(url).hostname.split(".")[2] if ".execute-api." in url else slice_.region
    SigV4Auth(ctx.aws.credentials(slice_.account.id, slice_.region), "execute-api", api_region).add_auth(request)
    record_api_call("pcluster.DescribeCluster")
    response = URLLib3Session(timeout=ctx.aws.read_timeout_seconds).send(request.prepare())
    if response.status_code != 200:
        raise RuntimeError(f"ParallelCluster API answered HTTP {response.status_code}: {response.text[:200]}")
    return json.loads(response.content)


def _parallelcluster(ctx: ProbeContext, slice_: Slice, index: ResourceIndex, pc_units: set[str]) -> list[Component]:
    cloudformation = ctx.client(slice_, "cloudformation")
    urls = _pcluster_api_urls(index, ctx.estate, slice_)
    found: list[Component] = []
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page.get("Stacks", []):
            name = stack["StackName"]
            unit = index.unit_for(tags=stack.get("Tags"), arn=stack.get("StackId"), identifiers=[name], prefer=pc_units)
            if unit not in pc_units:
                continue  # only ParallelCluster units' stacks are clusters
            if tag_dict(stack.get("Tags")).get("parallelcluster:version") is None and not _is_cluster_stack(stack):
                continue
            component = None
            for url in urls:
                try:
                    described = describe_pcluster(ctx, slice_, url, name)
                except Exception as error:  # noqa: BLE001 - fall back to the stack status
                    ctx.log.warning(f"ParallelCluster API {url} unusable for {name}, using CloudFormation: {describe_aws_error(error)}")
                    continue
                status = described.get("clusterStatus", "?")
                fleet = described.get("computeFleetStatus", "?")
                healthy = False if (status.endswith("FAILED") or fleet in FLEET_BAD) else (True if status in PCLUSTER_OK else None)
                component = Component(unit, "parallelcluster", name, f"{status} / fleet {fleet}", healthy, "via ParallelCluster API", {"pclusters": 1})
                break
            if component is None:
                status = stack.get("StackStatus", "?")
                healthy = False if ("FAILED" in status or "ROLLBACK" in status) else (True if status.endswith("_COMPLETE") and not status.startswith("DELETE") else None)
                component = Component(unit, "parallelcluster", name, status, healthy, "via CloudFormation stack status", {"pclusters": 1})
            found.append(component)
    return found


def _is_cluster_stack(stack: dict[str, Any]) -> bool:
    # Nested stacks of a ParallelCluster cluster carry a ParentId; the cluster itself is the root stack.
    return not stack.get("ParentId")


# --- FSx -----------------------------------------------------------------------------------------------


def _fsx(ctx: ProbeContext, slice_: Slice, index: ResourceIndex, storage_units: set[str]) -> list[Component]:
    fsx = ctx.client(slice_, "fsx")
    found: list[Component] = []
    for page in fsx.get_paginator("describe_file_systems").paginate():
        for fs in page.get("FileSystems", []):
            unit = index.unit_for(tags=fs.get("Tags"), arn=fs.get("ResourceARN"), identifiers=[fs.get("FileSystemId")], prefer=storage_units)
            if unit is None:
                continue
            lifecycle = fs.get("Lifecycle")
            if lifecycle is None:
                found.append(
                    Component(unit, "fsx", fs["FileSystemId"], "not reported", None, "the endpoint does not report Lifecycle", {"fsx": 1}, unverifiable=True)
                )
                continue
            healthy = _grade(lifecycle, FSX_OK, FSX_BAD)
            detail = (fs.get("FailureDetails") or {}).get("Message", "")
            found.append(Component(unit, "fsx", fs["FileSystemId"], lifecycle, healthy, detail, {"fsx": 1, "fsx_unhealthy": int(healthy is False)}))
    return found


SOURCES = {"eks": _eks, "hyperpod": _hyperpod, "parallelcluster": _parallelcluster, "fsx": _fsx}
MODULES_OF_SOURCE = {
    "eks": {"eks-cluster"},
    "hyperpod": {"hyperpod"},
    "parallelcluster": {"parallelcluster"},
    "fsx": {STORAGE_MODULE},
}


def probe(ctx: ProbeContext, units: Sequence[Unit]) -> ProbeReport:
    report = ProbeReport(CHECK_NAME)
    if not units:
        return report
    index = ctx.resource_index()
    components: list[Component] = []
    for source, read in SOURCES.items():
        modules = MODULES_OF_SOURCE[source]
        interested = [u for u in units if u.module in modules]
        if not interested:
            continue
        paths = {u.path for u in interested}
        slices = ctx.slices(interested)
        for found in ctx.in_slices(slices, source, lambda s, read=read, paths=paths: read(ctx, s, index, paths), report.skips).values():
            components.extend(c for c in found if c.unit in paths)

    for unit in units:
        source = SOURCE_OF_MODULE.get(unit.module or "")
        incomplete = skipped_reason([s for s in report.skips if s.source == source], ctx.slices([unit]))
        if incomplete:
            report.unknown[unit.path] = incomplete
            continue
        mine = [c for c in components if c.unit == unit.path]
        outcome, numbers = _judge(mine)
        report.observations[unit.path] = numbers
        unverifiable = [c for c in mine if c.unverifiable]
        if not mine:
            if ctx.applied(unit):
                # Applied, yet nothing to be found: deleted out of band, or tagged differently.
                report.outcomes[unit.path] = Outcome(
                    False,
                    "no cluster or file system found with this unit's tag or recorded outputs, "
                    "although the unit was applied (materialized)",
                    outcome.metadata,
                    severity=dg.AssetCheckSeverity.WARN,
                )
            else:
                report.observed_only[unit.path] = "not deployed: the unit has no materialization and nothing carries its tag"
            continue
        if outcome.passed and unverifiable:
            # Healthy is a claim about every component: one whose status cannot be read leaves the unit unknown.
            report.unknown[unit.path] = "; ".join(f"{c.kind} {c.name}: {c.detail}" for c in unverifiable)
            continue
        report.outcomes[unit.path] = outcome
    return report


def _judge(components: list[Component]) -> tuple[Outcome, dict[str, float | int]]:
    broken = [c for c in components if c.healthy is False]
    moving = [c for c in components if c.healthy is None]
    numbers: dict[str, float | int] = {"components": len(components), "components_unhealthy": len(broken)}
    for component in components:
        for key, value in component.numbers.items():
            numbers[key] = numbers.get(key, 0) + value
    metadata: dict[str, Any] = {
        "component_table": md_table(
            ["kind", "name", "status", "verdict", "detail"],
            [
                (c.kind, c.name, c.status, {True: "healthy", False: "UNHEALTHY", None: "noted"}[c.healthy], c.detail or "–")
                for c in sorted(components, key=lambda c: (c.healthy is not False, c.kind, c.name))
            ],
        ),
        **numbers,
    }
    if broken:
        first = broken[0]
        description = f"{len(broken)} unhealthy: {first.kind} {first.name} is {first.status}" + (f" — {first.detail}" if first.detail else "")
        return Outcome(False, description, metadata), numbers
    if not components:
        return Outcome(True, "no cluster or file system found with this unit's tag or recorded outputs", metadata), numbers
    description = f"{len(components)} component(s) healthy"
    if moving:
        description += f"; {len(moving)} noted ({', '.join(f'{c.kind} {c.name}: {c.status}' for c in moving[:3])})"
    return Outcome(True, description, metadata), numbers
