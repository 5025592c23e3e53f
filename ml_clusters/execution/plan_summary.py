"""A readable summary of one unit's plan, from `show -json` (values are never copied: they may be sensitive)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

SUPPORTED_FORMAT_MAJOR = "1"


class PlanFormatError(ValueError):
    pass


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    actions: tuple[str, ...]

    @property
    def action(self) -> str:
        """One word: create, update, delete, replace, read, forget, no-op."""
        if "delete" in self.actions and "create" in self.actions:
            return "replace"
        return self.actions[0] if self.actions else "no-op"

    @property
    def deletes(self) -> bool:
        # Both replace forms ([delete, create] and [create, delete]) contain "delete".
        return "delete" in self.actions

    def as_dict(self) -> dict[str, Any]:
        return {"address": self.address, "type": self.type, "action": self.action}


@dataclass(frozen=True)
class PlanSummary:
    changes: tuple[ResourceChange, ...]  # every resource change that is not a no-op
    drift: tuple[ResourceChange, ...]  # what refresh found changed outside Terraform
    output_changes: tuple[str, ...]  # names of outputs the plan changes
    has_changes: bool  # -detailed-exitcode said 2 (resources or outputs change)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def add(self) -> int:
        return self.count("create")

    @property
    def change(self) -> int:
        return self.count("update")

    @property
    def destroy(self) -> int:
        return self.count("delete")

    @property
    def replace(self) -> int:
        return self.count("replace")

    @property
    def headline(self) -> str:
        if not self.changes and not self.output_changes:
            return "No changes."
        text = f"{self.add} to add, {self.change} to change, {self.destroy} to destroy, {self.replace} to replace"
        if self.output_changes:
            text += f", {len(self.output_changes)} output(s) changed"
        if self.drift:
            text += f"; drift in {len(self.drift)} resource(s)"
        return text + "."

    def markdown(self) -> str:
        lines = [f"**{self.headline}**"]
        if self.changes:
            lines += ["", "| action | address |", "|---|---|"]
            lines += [f"| {c.action} | `{c.address}` |" for c in self.changes]
        if self.drift:
            lines += ["", "Drift detected by refresh:", ""]
            lines += [f"- {c.action} `{c.address}`" for c in self.drift]
        if self.output_changes:
            lines += ["", "Outputs changed: " + ", ".join(f"`{n}`" for n in self.output_changes)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [[c.address, c.type, list(c.actions)] for c in self.changes],
            "drift": [[c.address, c.type, list(c.actions)] for c in self.drift],
            "output_changes": list(self.output_changes),
            "has_changes": self.has_changes,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PlanSummary":
        return cls(
            changes=tuple(ResourceChange(a, t, tuple(x)) for a, t, x in data["changes"]),
            drift=tuple(ResourceChange(a, t, tuple(x)) for a, t, x in data["drift"]),
            output_changes=tuple(data["output_changes"]),
            has_changes=bool(data["has_changes"]),
        )


def summarize_plan(plan_json: Mapping[str, Any], has_changes: bool) -> PlanSummary:
    version = str(plan_json.get("format_version", ""))
    if version.split(".")[0] != SUPPORTED_FORMAT_MAJOR:
        raise PlanFormatError(f"unsupported plan JSON format_version {version!r} (expected {SUPPORTED_FORMAT_MAJOR}.x)")

    def changes(key: str) -> tuple[ResourceChange, ...]:
        found = []
        for rc in plan_json.get(key) or []:
            actions = tuple(rc.get("change", {}).get("actions") or ("no-op",))
            if actions == ("no-op",) or rc.get("mode", "managed") != "managed":
                continue
            found.append(ResourceChange(address=rc["address"], type=rc.get("type", ""), actions=actions))
        return tuple(found)

    outputs = tuple(
        name
        for name, change in sorted((plan_json.get("output_changes") or {}).items())
        if tuple(change.get("actions") or ("no-op",)) != ("no-op",)
    )
    return PlanSummary(
        changes=changes("resource_changes"), drift=changes("resource_drift"), output_changes=outputs, has_changes=has_changes
    )
