"""Which unit (and so which asset) an AWS resource belongs to.

Two sources, in this order:
1. the `ml-clusters:unit` tag that root.hcl's generated provider stamps on every resource (read from
   the resource's own tags when the describe call returns them, else from one paginated Resource
   Groups Tagging API listing per account/region);
2. the outputs recorded in the metadata of the unit's latest materialization (ids, names and ARNs
   the apply printed), for resources that carry no tags (e.g. ParallelCluster stacks, Training Plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from ml_clusters.estate import Estate, Unit

UNIT_TAG = "ml-clusters:unit"

# Modules whose units are GPU clusters (they consume capacity and get cluster_healthy).
CLUSTER_MODULES = frozenset({"eks-cluster", "parallelcluster", "hyperpod"})


def tag_dict(tags: Any) -> dict[str, str]:
    """AWS tags in any of their shapes ([{Key, Value}], [{key, value}], {k: v}, None) as a dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return result


def tagged_resources(tagging_client: Any, resource_types: Sequence[str]) -> dict[str, dict[str, str]]:
    """ARN → tags of every resource of these types that carries the unit tag (one paginated listing)."""
    paginator = tagging_client.get_paginator("get_resources")
    found: dict[str, dict[str, str]] = {}
    for page in paginator.paginate(
        TagFilters=[{"Key": UNIT_TAG}], ResourceTypeFilters=list(resource_types), ResourcesPerPage=100
    ):
        for item in page.get("ResourceTagMappingList", []):
            found[item["ResourceARN"]] = tag_dict(item.get("Tags"))
    return found


def _string_leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            try:
                yield from _string_leaves(json.loads(text))
                return
            except ValueError:
                pass
        yield text
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _string_leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _string_leaves(item)


# The execution plane records a unit's Terraform outputs under this metadata key (JSON object);
# sensitive outputs appear only as this placeholder.
OUTPUTS_METADATA_KEY = "outputs"
SENSITIVE_PLACEHOLDER = "(sensitive)"


def _metadata_leaves(metadata: Mapping[str, Any]) -> Iterable[str]:
    for name, entry in metadata.items():
        if name == OUTPUTS_METADATA_KEY or name.startswith(f"{OUTPUTS_METADATA_KEY}/"):
            raw = getattr(entry, "value", entry)  # MetadataValue or plain value
            yield from (leaf for leaf in _string_leaves(raw) if leaf != SENSITIVE_PLACEHOLDER)


def recorded_outputs(
    instance: dg.DagsterInstance | None, estate: Estate, asset_key_for: Any
) -> dict[str, frozenset[str]]:
    """Every string found in the metadata of each unit's latest materialization → the units it names.

    Sensitive outputs are never recorded by the execution plane, so nothing sensitive is read here.
    """
    if instance is None:
        return {}
    unit_by_key = {asset_key_for(unit): unit.path for unit in estate.units.values()}
    index: dict[str, set[str]] = {}
    for record in instance.get_asset_records(list(unit_by_key)):
        entry = record.asset_entry
        event = entry.last_materialization
        materialization = event.asset_materialization if event is not None else None
        if materialization is None:
            continue
        path = unit_by_key.get(entry.asset_key)
        for leaf in _metadata_leaves(materialization.metadata or {}):
            if len(leaf) >= 3:
                index.setdefault(leaf, set()).add(path)
    return {value: frozenset(paths) for value, paths in index.items()}


class ResourceIndex:
    """Resolve an AWS resource to the path of the unit that owns it."""

    def __init__(self, estate: Estate, outputs: Mapping[str, frozenset[str]] | None = None):
        self._units = estate.units
        self._outputs = outputs or {}
        self._tags_by_arn: dict[str, dict[str, str]] = {}

    def add_tagged(self, tags_by_arn: Mapping[str, Mapping[str, str]]) -> None:
        self._tags_by_arn.update({arn: dict(tags) for arn, tags in tags_by_arn.items()})

    def unit_from_tags(self, tags: Any) -> str | None:
        path = tag_dict(tags).get(UNIT_TAG)
        return path if path in self._units else None

    def unit_for(
        self, *, tags: Any = None, arn: str | None = None, identifiers: Iterable[str | None] = (), prefer: Iterable[str] = ()
    ) -> str | None:
        """The owning unit, or None. `prefer`: units to pick when recorded outputs are ambiguous."""
        path = self.unit_from_tags(tags)
        if path is None and arn:
            path = self.unit_from_tags(self._tags_by_arn.get(arn))
        if path is not None:
            return path
        preferred = set(prefer)
        for identifier in (arn, *identifiers):
            if not identifier:
                continue
            candidates = self._outputs.get(identifier, frozenset())
            if len(candidates) == 1:
                return next(iter(candidates))
            narrowed = candidates & preferred
            if len(narrowed) == 1:
                return next(iter(narrowed))
        return None

    def units_with_output(self, predicate: Any) -> dict[str, set[str]]:
        """unit path → recorded output strings that satisfy `predicate` (e.g. API URLs)."""
        found: dict[str, set[str]] = {}
        for value, paths in self._outputs.items():
            if predicate(value):
                for path in paths:
                    found.setdefault(path, set()).add(value)
        return found


def direct_dependents(estate: Estate, path: str) -> list[Unit]:
    return [estate.units[p] for p in estate.downstream_of(path, transitive=False)]
