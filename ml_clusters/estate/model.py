"""The estate's data model: what the live tree says, independent of Dagster."""

from __future__ import annotations

import graphlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping


class EstateError(Exception):
    """A problem in the live tree, reported as one line naming the file and the cause."""

    def __init__(self, file: Path | str | None, cause: str, unit: str | None = None):
        self.file = str(file) if file is not None else None
        self.cause = cause
        self.unit = unit
        where = self.file or "<estate>"
        prefix = f"{where}: " if where else ""
        suffix = f" (unit {unit})" if unit and unit not in where else ""
        super().__init__(f"{prefix}{cause}{suffix}")


@dataclass(frozen=True)
class Account:
    """One AWS account of the estate, from its `account.hcl`."""

    key: str  # directory name under the live root, e.g. "main-account"
    name: str  # account_name local, e.g. "main"
    id: str  # 12-digit account id
    locals: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class RemoteState:
    """Where a unit's Terraform state lives, evaluated from `root.hcl`'s remote_state block."""

    backend: str
    bucket: str | None
    key: str | None
    region: str | None
    use_lockfile: bool = False


@dataclass(frozen=True)
class Dependency:
    """A `dependency "name" { config_path = ... }` block (possibly inherited from an include)."""

    name: str
    path: str  # unit path of the dependency, relative to the live root
    enabled: bool = True
    skip_outputs: bool = False
    declared_in: str = ""  # file that declared the block


@dataclass(frozen=True)
class Unit:
    """One Terragrunt unit: a directory with a terragrunt.hcl under the live root."""

    path: str  # "main-account/us-east-1/eks-training"
    dir: Path  # absolute directory
    account: Account | None
    region: str | None
    component: str  # the unit's directory name, e.g. "eks-training"
    module: str | None  # module name from terraform.source, e.g. "eks-cluster"; None when unknown
    source: "str | Unresolved | None"  # terraform.source as evaluated; Unresolved when only known at run time
    module_dir: Path | None  # absolute local module directory, when the source is local
    dependencies: tuple[Dependency, ...]  # dependency blocks
    extra_dependencies: tuple[str, ...]  # dependencies { paths = [...] } as unit paths
    inputs: Mapping[str, Any]  # evaluated inputs; unresolvable values are `Unresolved`
    files: tuple[Path, ...]  # every config file this unit reads (its own, includes, read_terragrunt_config)
    remote_state: RemoteState | None
    content_hash: str = ""  # the asset's code_version: files + module_dirs + data_paths
    module_dirs: tuple[Path, ...] = ()  # the local module and every local module it calls
    data_paths: tuple[Path, ...] = ()  # files/directories named by inputs (cluster configs, scripts)

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Unit paths this unit depends on (dependency blocks + dependencies.paths), de-duplicated."""
        seen: dict[str, None] = {}
        for dep in self.dependencies:
            if dep.enabled:
                seen.setdefault(dep.path, None)
        for path in self.extra_dependencies:
            seen.setdefault(path, None)
        return tuple(seen)


@dataclass(frozen=True)
class Unresolved:
    """A value that cannot be evaluated statically (dependency outputs, get_env, ...)."""

    expression: str

    def __str__(self) -> str:
        return f"${{{self.expression}}}"


@dataclass(frozen=True)
class Estate:
    """The whole live tree: units and the edges between them. Immutable."""

    root: Path
    units: Mapping[str, Unit]
    stacks: tuple[str, ...] = ()

    @cached_property
    def edges(self) -> frozenset[tuple[str, str]]:
        """(dependent, dependency) pairs."""
        return frozenset((u.path, d) for u in self.units.values() for d in u.depends_on)

    @cached_property
    def _downstream(self) -> Mapping[str, tuple[str, ...]]:
        down: dict[str, list[str]] = {p: [] for p in self.units}
        for dependent, dependency in sorted(self.edges):
            down[dependency].append(dependent)
        return {k: tuple(v) for k, v in down.items()}

    @cached_property
    def topological_order(self) -> tuple[str, ...]:
        sorter = graphlib.TopologicalSorter({p: u.depends_on for p, u in self.units.items()})
        return tuple(sorter.static_order())

    @cached_property
    def accounts(self) -> Mapping[str, Account]:
        """Accounts by key (directory name)."""
        return {u.account.key: u.account for u in self.units.values() if u.account}

    @cached_property
    def regions(self) -> tuple[tuple[str, str], ...]:
        """(account key, region) pairs that hold units, sorted."""
        return tuple(sorted({(u.account.key, u.region) for u in self.units.values() if u.account and u.region}))

    def unit(self, path: str) -> Unit:
        try:
            return self.units[path.strip("/")]
        except KeyError:
            raise EstateError(self.root, f"no unit {path!r} under the live root") from None

    def upstream_of(self, path: str, transitive: bool = True) -> tuple[str, ...]:
        """Units `path` depends on (transitively by default), in topological order."""
        return self._walk(path, lambda p: self.units[p].depends_on, transitive)

    def downstream_of(self, path: str, transitive: bool = True) -> tuple[str, ...]:
        """Units that depend on `path` (transitively by default), in topological order."""
        return self._walk(path, lambda p: self._downstream[p], transitive)

    def _walk(self, path: str, step, transitive: bool) -> tuple[str, ...]:
        self.unit(path)
        found: set[str] = set()
        frontier = [path]
        while frontier:
            current = frontier.pop()
            for nxt in step(current):
                if nxt not in found:
                    found.add(nxt)
                    if transitive:
                        frontier.append(nxt)
        return tuple(p for p in self.topological_order if p in found)
