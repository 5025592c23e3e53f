"""Unit → Dagster AssetSpec, with overridable hooks (the dagster-dbt translator pattern).

Subclass `TerragruntTranslator` and override any `get_*` hook to change keys, groups, owners, ...;
pass the instance to `terragrunt_assets(...)` / `build_unit_defs(...)`. Knows nothing of subprocesses.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

import dagster as dg

from ml_clusters.estate import Estate, Unit

# Module name → the component kind shown in the UI (Dagster allows at most three kinds per asset:
# `terragrunt`, `aws`, and this one).
MODULE_KINDS: Mapping[str, str] = {
    "networking": "vpc",
    "shared-storage": "fsx",
    "s3-data-bucket": "s3",
    "s3-replication": "s3",
    "tfstate": "s3",
    "iam": "iam",
    "kms": "kms",
    "ecr": "ecr",
    "eks-cluster": "eks",
    "pcluster-api": "lambda",
    "parallelcluster": "slurm",
    "hyperpod": "sagemaker",
    "argocd-bootstrap": "argocd",
    "monitoring": "cloudwatch",
    "capacity-block": "ec2",
}

DEFAULT_OWNERS = ("team:ml-platform",)


def group_name_for(account_key: str | None, region: str | None) -> str:
    """`main-account` + `us-east-1` → `main_account__us_east_1` (Dagster group names are identifiers)."""
    parts = [p for p in (account_key, region) if p]
    name = "__".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts)
    return name or "estate"


class TerragruntTranslator:
    """Default mapping from a Terragrunt unit to its asset. Every hook may be overridden."""

    def get_asset_key(self, unit: Unit) -> dg.AssetKey:
        return dg.AssetKey(unit.path.split("/"))

    def get_group_name(self, unit: Unit) -> str:
        return group_name_for(unit.account.key if unit.account else None, unit.region)

    def get_component_kind(self, unit: Unit) -> str | None:
        if unit.module and unit.module in MODULE_KINDS:
            return MODULE_KINDS[unit.module]
        return unit.module

    def get_kinds(self, unit: Unit) -> set[str]:
        kinds = {"terragrunt", "aws"}
        component = self.get_component_kind(unit)
        if component:
            kinds.add(component)
        return kinds

    def get_tags(self, unit: Unit) -> dict[str, str]:
        tags = {"component": _tag_value(unit.component)}
        if unit.account:
            tags["account"] = _tag_value(unit.account.name)
            tags["account_id"] = unit.account.id
        if unit.region:
            tags["region"] = unit.region
        if unit.module:
            tags["module"] = _tag_value(unit.module)
        return tags

    def get_owners(self, unit: Unit) -> list[str]:
        return list(DEFAULT_OWNERS)

    def get_description(self, unit: Unit) -> str:
        where = " ".join(p for p in (unit.account.name + " account" if unit.account else None, unit.region) if p)
        module = f"module `{unit.module}`" if unit.module else "no terraform.source"
        return f"Terragrunt unit `{unit.path}` ({module}{', ' + where if where else ''})."

    def get_code_version(self, unit: Unit) -> str | None:
        return unit.content_hash or None

    def get_metadata(self, unit: Unit, estate: Estate) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "unit_path": unit.path,
            "unit_dir": dg.MetadataValue.path(str(unit.dir)),
            "module_source": unit.source or "",
            "dependencies": dg.MetadataValue.json(list(unit.depends_on)),
        }
        if unit.account:
            metadata["account_id"] = unit.account.id
        if unit.remote_state and unit.remote_state.key:
            metadata["state"] = f"s3://{unit.remote_state.bucket}/{unit.remote_state.key}"
        return metadata

    def get_deps(self, unit: Unit, estate: Estate) -> list[dg.AssetKey]:
        return [self.get_asset_key(estate.units[path]) for path in unit.depends_on]

    def get_asset_spec(self, unit: Unit, estate: Estate) -> dg.AssetSpec:
        return dg.AssetSpec(
            key=self.get_asset_key(unit),
            deps=self.get_deps(unit, estate),
            description=self.get_description(unit),
            group_name=self.get_group_name(unit),
            kinds=self.get_kinds(unit),
            tags=self.get_tags(unit),
            owners=self.get_owners(unit),
            code_version=self.get_code_version(unit),
            metadata=self.get_metadata(unit, estate),
            skippable=True,
        )

    def unit_for_key(self, estate: Estate, key: dg.AssetKey) -> Unit:
        """Inverse of get_asset_key over an estate (used by the executor and the sensors)."""
        # One index, rebuilt when asked about another estate (an id() key could be reused after GC).
        cached = self.__dict__.get("_key_index")
        if cached is None or cached[0] is not estate:
            cached = (estate, {self.get_asset_key(u): u for u in estate.units.values()})
            self.__dict__["_key_index"] = cached
        return cached[1][key]


def _tag_value(value: str) -> str:
    # Dagster tag values: letters, digits, `-`, `_`, `.`; at most 63 characters.
    return re.sub(r"[^A-Za-z0-9_.-]", "_", value)[:63]
