"""AZ fit: can a cluster of the estate use capacity reserved in a given Availability Zone?

Capacity Blocks and Training Plans live in one AZ each (a split training plan: one AZ per block). A cluster
can only use them when its subnets include that AZ. Where the cluster's AZs come from, best first:
  1. AZs the cluster unit's own inputs name (e.g. ParallelCluster's `compute_availability_zone`);
  2. outputs recorded at the last materialization — of the cluster, then of its networking unit (what
     Terraform really built: `private_subnet_ids` + `private_subnets_by_az`, or an AZ list);
  3. the networking unit's inputs (`azs`), as the estate reads them statically;
  4. `azs` in the cluster's region.hcl.
Network-wide AZs are narrowed to the subnets the cluster is placed in: a HyperPod cluster given
`[dependency.networking.outputs.private_subnet_ids[0]]` only fits the first subnet's AZ.
AZ *names* are per account (us-east-1a is not the same zone in two accounts), so a fit is only ever checked
against clusters of the account the capacity is bought in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ml_clusters.capacity.errors import CapacityError
from ml_clusters.estate.model import Estate, Unit, Unresolved

# Which cluster modules can use which capacity.
EC2_CLUSTER_MODULES = frozenset({"eks-cluster", "parallelcluster"})
HYPERPOD_MODULES = frozenset({"hyperpod"})
CAPACITY_USERS = {
    "capacity-block": EC2_CLUSTER_MODULES,
    "hyperpod-cluster": HYPERPOD_MODULES,
}

# Inputs that pin a cluster to AZs directly (ParallelCluster's compute AZ, a HyperPod AZ, ...), best first.
INPUT_AZ_KEYS = ("compute_availability_zone", "compute_availability_zones", "availability_zones",
                 "availability_zone", "azs", "subnet_azs")
OUTPUT_AZ_KEYS = ("private_subnet_azs", "subnet_azs", "availability_zones", "azs", "availability_zone")
OUTPUT_AZ_MAP_KEYS = ("private_subnets_by_az", "subnets_by_az", "private_subnet_ids_by_az", "subnet_ids_by_az")
OUTPUT_SUBNET_LIST_KEYS = ("private_subnet_ids", "subnet_ids", "private_subnets")
# `dependency.networking.outputs.private_subnet_ids[0]` and friends inside a cluster's (unresolved) inputs.
_SUBNET_REF = re.compile(r"dependency\.(\w+)\.outputs\.(\w*subnet\w*)(\s*\[\s*(\d+)\s*\])?")

# unit path → (outputs recorded at its last materialization, description of where they came from) or None
OutputsLookup = Callable[[str], "tuple[Mapping[str, Any], str] | None"]


@dataclass(frozen=True)
class ClusterAzs:
    cluster: str  # unit path
    azs: tuple[str, ...] | None  # None: unknown
    source: str  # where the AZs were read


@dataclass(frozen=True)
class Fit:
    cluster: str
    az: str
    fits: bool | None  # None: the cluster's AZs are unknown
    cluster_azs: tuple[str, ...]
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "az": self.az, "fits": self.fits, "cluster_azs": list(self.cluster_azs),
                "source": self.source}

    def describe(self) -> str:
        if self.fits is None:
            return f"{self.cluster}: AZs unknown ({self.source})"
        verdict = "fits" if self.fits else "does NOT fit"
        return f"{self.cluster} {verdict} {self.az} (cluster AZs {', '.join(self.cluster_azs)}; from {self.source})"


_AZ_NAME = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+[a-z]$")  # us-east-1a, us-west-2-lax-1a


def _az_list(value: Any) -> tuple[str, ...] | None:
    """A string or a list of strings that are AZ names; None for anything else (an Unresolved value,
    the "(sensitive)" placeholder, a truncated output, ...)."""
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "type", "sensitive"}:
        if value.get("sensitive"):
            return None
        value = value["value"]  # `terraform output -json` shape
    if isinstance(value, str) and _AZ_NAME.match(value):
        return (value,)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) and _AZ_NAME.match(v) for v in value):
        return tuple(value)  # kept in order and with repeats: one entry per subnet where outputs list them so
    return None


def _output_value(outputs: Mapping[str, Any], key: str) -> Any:
    value = outputs.get(key)
    if isinstance(value, Mapping) and "value" in value and set(value) <= {"value", "type", "sensitive"}:
        return None if value.get("sensitive") else value["value"]  # `terraform output -json` shape
    return value


def azs_from_outputs(outputs: Mapping[str, Any]) -> tuple[str, ...] | None:
    """AZs a unit's outputs name, in subnet order when the outputs allow it."""
    by_az = next((v for k in OUTPUT_AZ_MAP_KEYS if isinstance(v := _output_value(outputs, k), Mapping) and v), None)
    subnet_ids = next((v for k in OUTPUT_SUBNET_LIST_KEYS if isinstance(v := _output_value(outputs, k), list) and v),
                      None)
    if by_az and subnet_ids:
        az_of = {}
        for az, ids in by_az.items():
            for sid in ids if isinstance(ids, list) else [ids]:
                az_of[sid] = az
        if all(sid in az_of and isinstance(az_of[sid], str) and _AZ_NAME.match(az_of[sid]) for sid in subnet_ids):
            return tuple(az_of[sid] for sid in subnet_ids)  # one entry per subnet, in subnet order
    for key in OUTPUT_AZ_KEYS:
        if azs := _az_list(_output_value(outputs, key)):
            return azs
    if by_az and all(isinstance(k, str) and _AZ_NAME.match(k) for k in by_az):
        return tuple(by_az)
    return None


def subnet_indexes(cluster: Unit) -> tuple[int, ...] | None:
    """Which of its networking unit's private subnets a cluster is placed in: indexes such as (0,) for
    `[dependency.networking.outputs.private_subnet_ids[0]]`, or None for all of them / unknown.
    Head-node and public subnets do not host the capacity, so they are ignored."""
    indexes: set[int] = set()
    for key, value in cluster.inputs.items():
        if "subnet" not in key or "head_node" in key or "public" in key:
            continue
        for expression in _expressions(value):
            for match in _SUBNET_REF.finditer(expression):
                if "public" in match.group(2):
                    continue
                if match.group(4) is None:
                    return None  # the whole list (or a by-AZ map): every AZ of the network
                indexes.add(int(match.group(4)))
    return tuple(sorted(indexes)) or None


def _expressions(value: Any) -> list[str]:
    if isinstance(value, Unresolved):
        return [value.expression]
    if isinstance(value, (list, tuple)):
        return [e for v in value for e in _expressions(v)]
    if isinstance(value, Mapping):
        return [e for v in value.values() for e in _expressions(v)]
    return []


def outputs_from_metadata(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """Terraform outputs recorded on a materialization: an `outputs` JSON entry and/or `outputs/<name>` entries."""
    found: dict[str, Any] = {}

    def plain(v: Any) -> Any:
        v = getattr(v, "value", v)  # dagster MetadataValue → python value
        if isinstance(v, str) and v[:1] in "[{":
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v

    if "outputs" in metadata and isinstance(plain(metadata["outputs"]), Mapping):
        found.update(plain(metadata["outputs"]))
    for key, value in metadata.items():
        for prefix in ("outputs/", "output/", "outputs."):
            if key.startswith(prefix):
                found[key[len(prefix):]] = plain(value)
    return found


def networking_unit(estate: Estate, cluster: Unit) -> Unit | None:
    """The networking unit the cluster depends on (its `networking` dependency, else the one in its region)."""
    for dep in cluster.dependencies:
        unit = estate.units.get(dep.path)
        if dep.enabled and unit is not None and (dep.name == "networking" or unit.module == "networking"):
            return unit
    for unit in estate.units.values():
        if (unit.module == "networking" and unit.region == cluster.region and unit.account and cluster.account
                and unit.account.key == cluster.account.key):
            return unit
    return None


def _region_hcl_azs(unit: Unit) -> tuple[tuple[str, ...], str] | None:
    candidates = [f for f in unit.files if f.name == "region.hcl"] or [unit.dir.parent / "region.hcl"]
    for path in candidates:
        try:
            from ml_clusters.estate.hclparse import parse_hcl

            body = parse_hcl(Path(path).read_text())
            for block in body.blocks_of("locals"):
                attr = block.body.attributes.get("azs")
                if attr and attr.value[0] == "tuple":
                    items = attr.value[1]
                    if items and all(i[0] == "lit" and isinstance(i[1], str) for i in items):
                        return tuple(i[1] for i in items), str(path)
        except Exception:  # noqa: BLE001 — the last fallback; a file we cannot read just gives no answer
            continue
    return None


def cluster_azs(estate: Estate, cluster: Unit, recorded: OutputsLookup | None = None) -> ClusterAzs:
    for key in INPUT_AZ_KEYS:
        if key in cluster.inputs and (azs := _az_list(cluster.inputs[key])):
            return ClusterAzs(cluster.path, tuple(dict.fromkeys(azs)), f"input {key} of {cluster.path}")
    if recorded is not None and (own := recorded(cluster.path)) and (azs := azs_from_outputs(own[0])):
        return ClusterAzs(cluster.path, tuple(dict.fromkeys(azs)), own[1])
    network = _network_azs(estate, cluster, recorded)
    if network is None:
        return ClusterAzs(cluster.path, None, "no networking outputs or inputs name its AZs")
    azs, source = network
    indexes = subnet_indexes(cluster)
    if indexes is not None:
        picked = tuple(dict.fromkeys(azs[i] for i in indexes if i < len(azs)))
        if picked:
            which = ", ".join(str(i) for i in indexes)
            return ClusterAzs(cluster.path, picked, f"{source}; the cluster uses private subnet [{which}] only")
    return ClusterAzs(cluster.path, tuple(dict.fromkeys(azs)), source)


def _network_azs(estate: Estate, cluster: Unit, recorded: OutputsLookup | None) -> tuple[tuple[str, ...], str] | None:
    """The AZs of the cluster's network, one per private subnet in subnet order where known."""
    net = networking_unit(estate, cluster)
    if net is not None and recorded is not None and (found := recorded(net.path)):
        if azs := azs_from_outputs(found[0]):
            return azs, found[1]
    if net is not None:
        for key in ("azs", "availability_zones", "private_subnet_azs"):
            if key in net.inputs and (azs := _az_list(net.inputs[key])):
                return azs, f"input {key} of {net.path}"
    return _region_hcl_azs(cluster)


def check_fit(estate: Estate, cluster: Unit, az: str, recorded: OutputsLookup | None = None) -> Fit:
    known = cluster_azs(estate, cluster, recorded)
    if known.azs is None:
        return Fit(cluster.path, az, None, (), known.source)
    return Fit(cluster.path, az, az in known.azs, known.azs, known.source)


def candidate_clusters(estate: Estate, *, account_key: str, region: str, kind: str) -> list[Unit]:
    """Cluster units of `account_key`/`region` that can use capacity of `kind` ("capacity-block" or a
    training-plan target resource)."""
    modules = CAPACITY_USERS.get(kind, frozenset())
    return [u for p, u in sorted(estate.units.items())
            if u.module in modules and u.region == region and u.account and u.account.key == account_key]


def check_cluster(estate: Estate, path: str, *, kind: str, account_key: str | None, region: str) -> Unit:
    """The unit named by --cluster, if it is a cluster that can use capacity of `kind` in that account/Region."""
    unit = estate.unit(path)
    modules = CAPACITY_USERS.get(kind, EC2_CLUSTER_MODULES | HYPERPOD_MODULES)
    if unit.module not in modules:
        raise CapacityError(f"{unit.path} is a {unit.module or 'non-module'} unit, not a cluster that can use "
                            f"{'a Capacity Block' if kind == 'capacity-block' else 'a ' + kind + ' plan'} "
                            f"({', '.join(sorted(modules))})")
    if account_key and unit.account and unit.account.key != account_key:
        raise CapacityError(f"{unit.path} is in {unit.account.key}, not {account_key}: capacity is only usable in "
                            "the account that buys it")
    if unit.region != region:
        raise CapacityError(f"{unit.path} is in {unit.region}, not {region}")
    return unit


def fits_for(estate: Estate, *, account_key: str, region: str, kind: str, azs: Iterable[str],
             recorded: OutputsLookup | None = None, cluster: str | None = None) -> list[Fit]:
    """A Fit per (candidate cluster, AZ). With `cluster`, only that unit is checked (after `check_cluster`)."""
    if cluster:
        units = [check_cluster(estate, cluster, kind=kind, account_key=account_key or None, region=region)]
    else:
        units = candidate_clusters(estate, account_key=account_key, region=region, kind=kind)
    return [check_fit(estate, unit, az, recorded) for unit in units for az in dict.fromkeys(azs)]


def usable_clusters(fits: Iterable[Fit]) -> list[str]:
    """Clusters that can use *every* AZ checked (a split plan must fit in all its AZs)."""
    by_cluster: dict[str, list[Fit]] = {}
    for fit in fits:
        by_cluster.setdefault(fit.cluster, []).append(fit)
    return [c for c, fs in by_cluster.items() if all(f.fits for f in fs)]


def recorded_outputs_lookup(instance: Any, asset_key_for: Callable[[str], Any]) -> OutputsLookup:
    """Read Terraform outputs recorded on each unit's latest materialization in a Dagster instance."""

    def lookup(unit_path: str):
        try:
            event = instance.get_latest_materialization_event(asset_key_for(unit_path))
        except Exception:  # noqa: BLE001 — no instance answer: fall back to the estate's inputs
            return None
        materialization = getattr(event, "asset_materialization", None) if event else None
        if materialization is None:
            return None
        outputs = outputs_from_metadata(materialization.metadata or {})
        if not outputs:
            return None
        return outputs, f"outputs of {unit_path} recorded at its last materialization (run {event.run_id[:8]})"

    return lookup


def consuming_clusters(estate: Estate, unit_path: str) -> list[str]:
    """The cluster units that use capacity owned by `unit_path` — the unit itself when it is a cluster, else
    the clusters that depend on it directly (e.g. parallelcluster on main-account/us-east-1/capacity-block).
    The same mapping as the capacity-expiry sensor's, so records land where the sensor reports."""
    clusters = EC2_CLUSTER_MODULES | HYPERPOD_MODULES
    unit = estate.units.get(unit_path)
    if unit is None:
        return []
    if unit.module in clusters:
        return [unit.path]
    return [p for p in estate.downstream_of(unit.path, transitive=False) if estate.units[p].module in clusters]


def extension_record_units(estate: Estate, owner: str | None) -> tuple[list[str], list[str]]:
    """Where the extension of a block owned by `owner` (--cluster, or the block's ml-clusters:unit tag) is
    recorded: (the clusters using it, the units to record on — those clusters, plus `owner` itself when it is
    a unit of the estate, so the block's own history stays complete). The CLI and the job share this."""
    clusters = consuming_clusters(estate, owner) if owner else []
    own = [owner] if owner and owner in estate.units else []
    return clusters, list(dict.fromkeys([*clusters, *own]))
