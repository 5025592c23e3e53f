"""Terraform/OpenTofu state files (format version 4) describing what seeding created for a unit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

TOFU_VERSION = "1.10.6"
AWS_PROVIDER = 'provider["registry.opentofu.org/hashicorp/aws"]'


@dataclass
class Resource:
    """One managed resource as the state records it (`type.name`, attributes incl. tags / tags_all)."""

    type: str
    name: str
    attributes: dict[str, Any]
    schema_version: int = 0
    index_key: str | int | None = None  # for_each key / count index; None for a single instance
    module: str | None = None  # "module.vpc" for a resource inside a child module


@dataclass
class Output:
    value: Any
    sensitive: bool = False

    @property
    def type(self) -> Any:
        return _cty_type(self.value)


@dataclass
class UnitState:
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Output] = field(default_factory=dict)


def _cty_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return ["list", _cty_type(value[0]) if value else "string"]
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()):
            return ["map", "string"]
        return ["object", {k: _cty_type(v) for k, v in value.items()}]
    return "string"


def render(unit_path: str, state: UnitState, serial: int = 1) -> dict[str, Any]:
    """The state document. Lineage is stable per unit so re-seeding yields the same state identity."""
    return {
        "version": 4,
        "terraform_version": TOFU_VERSION,
        "serial": serial,
        "lineage": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ml-clusters/{unit_path}")),
        "outputs": {
            name: {"value": out.value, "type": out.type, **({"sensitive": True} if out.sensitive else {})}
            for name, out in state.outputs.items()
        },
        "resources": [
            {
                **({"module": module} if module else {}),
                "mode": "managed",
                "type": type_,
                "name": name,
                "provider": AWS_PROVIDER,
                "instances": instances,
            }
            for (module, type_, name), instances in _grouped_instances(state.resources).items()
        ],
        "check_results": None,
    }


def _grouped_instances(resources: list[Resource]) -> dict[tuple[str | None, str, str], list[dict[str, Any]]]:
    grouped: dict[tuple[str | None, str, str], list[dict[str, Any]]] = {}
    for resource in resources:
        instance: dict[str, Any] = {"schema_version": resource.schema_version}
        if resource.index_key is not None:
            instance["index_key"] = resource.index_key
        instance.update(attributes=resource.attributes, sensitive_attributes=[])
        grouped.setdefault((resource.module, resource.type, resource.name), []).append(instance)
    return grouped
