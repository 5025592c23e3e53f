"""Seed the emulator from the estate: for each unit, what its module would have created, plus its state file.

Units are seeded in topological order, each by the seeder of its module (`seeders.py`), so a unit's
`dependency.<name>.outputs.<key>` inputs resolve from what its dependencies' seeding recorded — the way
Terragrunt feeds outputs forward. Every resource carries the tags root.hcl's provider stamps on it
(`ml-clusters:unit` among them). A unit whose module's resources the emulator cannot hold gets a state file
without them and a note saying why (shown in the sandbox's summary).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import hcl2

from ml_clusters.estate import Estate, Unit, Unresolved
from ml_clusters.sandbox.aws import AccountClients
from ml_clusters.sandbox.statefile import Output, Resource, UnitState, render


class SeedError(RuntimeError):
    """Seeding a unit failed; the message names the unit."""


@dataclass
class SeededUnit:
    unit: Unit
    state: UnitState = field(default_factory=UnitState)
    notes: list[str] = field(default_factory=list)  # what the emulator could not hold, and why

    @property
    def outputs(self) -> dict[str, Any]:
        return {name: out.value for name, out in self.state.outputs.items()}

    def add(
        self,
        type_: str,
        name: str,
        attributes: dict[str, Any],
        index_key: str | int | None = None,
        module: str | None = None,
        schema_version: int = 0,
    ) -> None:
        self.state.resources.append(Resource(type_, name, attributes, schema_version, index_key, module))

    def output(self, name: str, value: Any, sensitive: bool = False) -> None:
        self.state.outputs[name] = Output(value, sensitive)


@dataclass
class SeedResult:
    units: dict[str, SeededUnit]
    state_bucket: str
    state_account_id: str

    def resources(self) -> int:
        return sum(len(s.state.resources) for s in self.units.values())


Seeder = Callable[["SeedContext", SeededUnit], None]

_DEPENDENCY_OUTPUT = re.compile(r"^dependency\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)((?:\[\d+\])*)$")


class SeedContext:
    """What a seeder may use: the estate, clients per account/region, and its dependencies' outputs."""

    def __init__(self, estate: Estate, clients: AccountClients):
        self.estate = estate
        self.clients = clients
        self.seeded: dict[str, SeededUnit] = {}

    def aws(self, unit: Unit, service: str, region: str | None = None) -> Any:
        return self.clients.get(unit.account.id, region or unit.region, service)

    @staticmethod
    def default_tags(unit: Unit) -> dict[str, str]:
        """The provider default_tags root.hcl generates for this unit (tags_all = these + resource tags)."""
        return {
            "ManagedBy": "terraform",
            "Account": unit.account.name,
            "Region": unit.region,
            "ml-clusters:unit": unit.path,
        }

    def tags(self, unit: Unit, **resource_tags: str) -> tuple[dict[str, str], dict[str, str]]:
        """(tags, tags_all) as Terraform records them; tags_all is what lands on the live resource."""
        return dict(resource_tags), {**self.default_tags(unit), **resource_tags}

    def input(self, unit: Unit, name: str, default: Any = None) -> Any:
        """A unit input with `dependency.x.outputs.y` references resolved from the seeded dependencies."""
        if name not in unit.inputs:
            return default
        value = self.resolve(unit, unit.inputs[name])
        return default if value is None else value

    def resolve(self, unit: Unit, value: Any) -> Any:
        if isinstance(value, Unresolved):
            return self._dependency_output(unit, value.expression)
        if isinstance(value, list):
            return [self.resolve(unit, v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(unit, v) for k, v in value.items()}
        return value

    def _dependency_output(self, unit: Unit, expression: str) -> Any:
        """`dependency.x.outputs.y[0]`, or an HCL list/object literal of such references."""
        expression = expression.strip()
        match = _DEPENDENCY_OUTPUT.match(expression)
        if match:
            return self._output_of(unit, *match.groups())
        try:
            literal = hcl2.loads(f"value = {expression}\n")["value"]
        except Exception:  # get_env(), run_cmd()...: the seeder falls back to its default
            return None
        return self._substitute(unit, literal)

    def _substitute(self, unit: Unit, value: Any) -> Any:
        if isinstance(value, str):
            reference = re.fullmatch(r"\$\{(.*)\}", value.strip())
            if reference:
                return self._dependency_output(unit, reference.group(1))
            return _unquote(value)
        if isinstance(value, list):
            return [self._substitute(unit, v) for v in value]
        if isinstance(value, dict):
            return {_unquote(k): self._substitute(unit, v) for k, v in value.items()}
        return value

    def _output_of(self, unit: Unit, name: str, key: str, indexes: str | None) -> Any:
        dependency = next((d for d in unit.dependencies if d.name == name), None)
        if dependency is None or dependency.path not in self.seeded:
            return None
        value = self.seeded[dependency.path].outputs.get(key)
        for index in re.findall(r"\[(\d+)\]", indexes or ""):
            value = value[int(index)] if isinstance(value, list) and int(index) < len(value) else None
        return value

    def related(self, unit: Unit, module: str, *, same_region: bool = True) -> SeededUnit | None:
        """The seeded unit of `module` this unit builds on: a declared dependency first, else the one in the
        same account (and region) — e.g. an EKS unit's IAM roles, which IAM being global may live in another
        region's unit of the same account."""
        for path in unit.depends_on:
            seeded = self.seeded.get(path)
            if seeded and seeded.unit.module == module:
                return seeded
        candidates = [
            s
            for s in self.seeded.values()
            if s.unit.module == module
            and s.unit.account.key == unit.account.key
            and (s.unit.region == unit.region or not same_region)
        ]
        candidates.sort(key=lambda s: (s.unit.region != unit.region, s.unit.path))
        return candidates[0] if candidates else None


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def state_location(estate: Estate) -> tuple[str, str, str]:
    """(bucket, region, owning account id) of the central state bucket, from root.hcl's remote_state."""
    remote = next((u.remote_state for u in estate.units.values() if u.remote_state and u.remote_state.bucket), None)
    if remote is None:
        raise SeedError("no unit has an S3 remote_state bucket (root.hcl remote_state); nothing to seed state into")
    owner = next(
        (a.id for a in estate.accounts.values() if a.id in remote.bucket),
        next((a.id for a in estate.accounts.values() if a.locals.get("is_management_account")), None),
    )
    if owner is None:
        raise SeedError(f"cannot tell which account owns the state bucket {remote.bucket}")
    return remote.bucket, remote.region or "us-east-1", owner


def seed_estate(estate: Estate, clients: AccountClients, seeders: dict[str, Seeder] | None = None) -> SeedResult:
    """Create every unit's resources in the emulator and write every unit's state file."""
    from ml_clusters.sandbox.seeders import SEEDERS, ensure_bucket

    seeders = SEEDERS if seeders is None else seeders
    ctx = SeedContext(estate, clients)
    bucket, bucket_region, owner = state_location(estate)
    # Every state bucket exists before any unit is seeded, as the bootstrap unit's bucket does in AWS
    # (`bucket` is one of them: state_location took it from these units).
    state_buckets = {
        (u.remote_state.bucket, u.remote_state.region or bucket_region)
        for u in estate.units.values()
        if u.remote_state and u.remote_state.bucket
    }
    for name, region in sorted(state_buckets):
        ensure_bucket(clients.get(owner, region, "s3"), name, region, versioned=True)

    for path in estate.topological_order:
        unit = estate.units[path]
        seeded = SeededUnit(unit)
        ctx.seeded[path] = seeded
        if unit.account is None or unit.region is None:
            seeded.notes.append("not under <account>/<region>/: nothing to seed")
            continue
        seeder = seeders.get(unit.module or "")
        if seeder is None:
            seeded.notes.append(f"no sandbox seeder for module {unit.module!r}: state file only")
            continue
        try:
            seeder(ctx, seeded)
        except SeedError:
            raise
        except Exception as error:  # a botocore error: name the unit, keep the one line
            raise SeedError(f"{path}: seeding module {unit.module!r} failed: {error}") from error

    for path, seeded in ctx.seeded.items():
        remote = seeded.unit.remote_state
        if remote is None or not remote.key:
            seeded.notes.append("no remote_state key: no state file written")
            continue
        s3 = clients.get(owner, remote.region or bucket_region, "s3")
        document = render(path, seeded.state)
        s3.put_object(Bucket=remote.bucket or bucket, Key=remote.key, Body=json.dumps(document, indent=2).encode())
    return SeedResult(units=ctx.seeded, state_bucket=bucket, state_account_id=owner)
