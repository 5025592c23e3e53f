"""CI selection: the units a git diff touches, plus everything downstream of them.

A unit is touched when a file it reads changed (`unit.files`: its terragrunt.hcl and every file it
includes or reads, such as root.hcl / _envcommon / account.hcl / region.hcl), a file in its directory
changed, a file of its local module or of a local module that module calls changed
(`unit.module_dirs`), or a file or directory named by its inputs changed (`unit.data_paths`, e.g.
terraform/cluster-configs/parallelcluster/training-cluster.yaml). The estate computes these, and the
unit's code_version hashes the same set, so what CI plans and what Dagster marks changed agree.

Changed files under the estate's parent directory (terraform/: modules, cluster-configs, gitops)
that no unit claims are reported, never dropped silently; GitOps manifests are synced by Argo CD,
not planned by Terraform, and are reported as such.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ml_clusters.estate import Estate, Unit

PLAN_CONFIG_JSON = '{"ops":{"terragrunt_units":{"config":{"mode":"plan"}}}}'
GITOPS_DIR = "gitops"  # <estate root's parent>/gitops: Kubernetes manifests Argo CD syncs


UNIT_FILE = "terragrunt.hcl"


class SelectionError(Exception):
    """A problem building the CI selection, as one line."""


@dataclass(frozen=True)
class Selection:
    changed: dict[str, str]  # unit path → why (the first changed file that touches it)
    downstream: tuple[str, ...]  # units downstream of a changed unit, not changed themselves
    ignored_files: tuple[str, ...] = ()  # changed files under the estate's parent dir no unit reads
    gitops_files: tuple[str, ...] = ()  # changed files under <parent>/gitops: Argo CD's, not Terraform's
    removed_units: tuple[str, ...] = ()  # unit dirs whose terragrunt.hcl the diff deletes (or moves away)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.changed) + self.downstream

    def dagster_select(self, key_for) -> str:
        """A `--select` value naming exactly these units' asset keys.

        Comma-separated: `dagster asset materialize` ORs the comma-separated parts itself, whereas one
        `a or b or ...` expression stops parsing beyond ~330 terms (a root.hcl change selects them all).
        """
        keys = [key_for(path) for path in self.units]
        with_comma = [k for k in keys if "," in k]
        if with_comma:
            raise SelectionError(f"asset key {with_comma[0]!r} contains a comma, which `dagster asset materialize --select` splits on")
        return ",".join(f'key:"{k}"' for k in keys)


def git_toplevel(path: Path) -> Path:
    out = _git(path, ["rev-parse", "--show-toplevel"])
    return Path(out.strip())


def changed_files(repo: Path, base: str, head: str | None = None) -> list[Path]:
    """Absolute paths changed between merge-base(base, head) and head (default: the working tree)."""
    if head:
        listing = _git(repo, ["diff", "--name-only", "--no-renames", f"{base}...{head}"])
    else:
        listing = _git(repo, ["diff", "--name-only", "--no-renames", "--merge-base", base])
        listing += _git(repo, ["ls-files", "--others", "--exclude-standard"])
    return sorted({(repo / line).absolute() for line in listing.splitlines() if line.strip()})


def select_changed(estate: Estate, files: Iterable[Path]) -> Selection:
    files = list(dict.fromkeys(Path(f).absolute().resolve() for f in files))
    changed: dict[str, str] = {}  # unit → why (its first changed file)
    claimed: set[Path] = set()  # changed files some unit depends on
    for path in estate.topological_order:
        needs = _Needs.of(estate.units[path])
        for f in files:
            reason = needs.reason(f, estate.root)
            if reason:
                claimed.add(f)
                changed.setdefault(path, reason)
    below = {d for c in changed for d in estate.downstream_of(c)}
    downstream = [p for p in estate.topological_order if p in below and p not in changed]
    estate_dir = estate.root.resolve().parent  # terraform/: live, modules, cluster-configs, gitops
    gitops = estate_dir / GITOPS_DIR
    root = estate.root.resolve()
    removed = [
        f for f in files
        if f.name == UNIT_FILE and not f.exists() and f.is_relative_to(root) and f.parent != root
    ]
    unclaimed = [f for f in files if f not in claimed and f not in removed and f.is_relative_to(estate_dir)]
    return Selection(
        removed_units=tuple(f.parent.relative_to(root).as_posix() for f in removed),
        changed=changed,
        downstream=tuple(downstream),
        ignored_files=tuple(_rel(f, estate.root) for f in unclaimed if not f.is_relative_to(gitops)),
        gitops_files=tuple(_rel(f, estate.root) for f in unclaimed if f.is_relative_to(gitops)),
    )


@dataclass(frozen=True)
class _Needs:
    """What a unit's plan depends on, as resolved paths (the estate's view: files, modules, data)."""

    files: frozenset[Path]
    unit_dir: Path
    module_dirs: tuple[Path, ...]
    data_paths: tuple[Path, ...]
    named_paths: frozenset[str]  # absolute paths the inputs name, normalised (existing or not)

    @classmethod
    def of(cls, unit: Unit) -> "_Needs":
        return cls(
            files=frozenset(Path(f).resolve() for f in unit.files),
            unit_dir=Path(unit.dir).resolve(),
            module_dirs=tuple(Path(d).resolve() for d in unit.module_dirs),
            data_paths=tuple(Path(d).resolve() for d in unit.data_paths),
            named_paths=frozenset(_absolute_paths_in(unit.inputs)),
        )

    def reason(self, f: Path, root: Path) -> str | None:
        """Why changing `f` (resolved) changes the unit's plan, or None."""
        if f in self.files or f.is_relative_to(self.unit_dir):
            return f"{_rel(f, root)} changed"
        if any(f.is_relative_to(d) for d in self.module_dirs):
            return f"module file {_rel(f, root)} changed"
        # A data path is a file or a directory named by an input; a file under it counts. A deleted
        # file the inputs still name is no data path any more, but the unit's plan changes all the same.
        if any(f.is_relative_to(d) for d in self.data_paths) or os.path.normpath(str(f)) in self.named_paths:
            return f"input file {_rel(f, root)} changed"
        return None


def _absolute_paths_in(inputs: Any) -> Iterator[str]:
    """Every input string that is an absolute path, normalised: walked once per unit, not per file."""
    stack = [inputs]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and item.startswith("/"):
            yield os.path.normpath(item)


def _rel(path: Path, root: Path) -> str:
    for base in (root.parent, root):
        try:
            return str(path.resolve().relative_to(base.resolve()))
        except ValueError:
            continue
    return str(path)


def _git(cwd: Path, args: list[str]) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise SelectionError("git is not installed; the CI selection needs it") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SelectionError(f"git {' '.join(args)} failed in {cwd}: {message}")
    return done.stdout
