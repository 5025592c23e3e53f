"""CI selection: the units a git diff touches, plus everything downstream of them.

A unit is touched when a file it reads changed (its terragrunt.hcl, included files such as
root.hcl / _envcommon / account.hcl / region.hcl), a file in its directory changed, or a file of its
local module changed, including local modules that module calls (`source = "../kms"`).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ml_clusters.estate import Estate

_LOCAL_SOURCE = re.compile(r"""\bsource\s*=\s*"(\.{1,2}/[^"]*)\"""")
PLAN_CONFIG_JSON = '{"ops":{"terragrunt_units":{"config":{"mode":"plan"}}}}'


class SelectionError(Exception):
    """A problem building the CI selection, as one line."""


@dataclass(frozen=True)
class Selection:
    changed: dict[str, str]  # unit path → why (the first changed file that touches it)
    downstream: tuple[str, ...]  # units downstream of a changed unit, not changed themselves
    ignored_files: tuple[str, ...]  # changed files under the live root that no unit reads

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(self.changed) + self.downstream

    def dagster_select(self, key_for) -> str:
        """A `--select` expression naming exactly these units' asset keys."""
        return " or ".join(f'key:"{key_for(path)}"' for path in self.units)


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
    files = [Path(f).absolute() for f in files]
    changed: dict[str, str] = {}
    used: set[Path] = set()
    for path in estate.topological_order:
        unit = estate.units[path]
        why = _why_touched(unit, files, estate.root)
        if why:
            changed[path], file = why
            used.add(file)
    below = {d for c in changed for d in estate.downstream_of(c)}
    downstream = [p for p in estate.topological_order if p in below and p not in changed]
    root = estate.root.absolute()
    ignored = tuple(str(f.relative_to(root)) for f in files if _under(f, root) and f not in used)
    return Selection(changed=changed, downstream=tuple(downstream), ignored_files=ignored)


def _why_touched(unit, files: list[Path], root: Path) -> tuple[str, Path] | None:
    reads = {Path(f).absolute() for f in unit.files}
    module_dirs = local_module_closure(unit.module_dir) if unit.module_dir else []
    for f in files:
        if f in reads:
            return f"{_rel(f, root)} changed", f
        if _under(f, Path(unit.dir).absolute()):
            return f"{_rel(f, root)} changed", f
        for module_dir in module_dirs:
            if _under(f, module_dir):
                return f"module file {_rel(f, root)} changed", f
    return None


def local_module_closure(module_dir: Path) -> list[Path]:
    """The module directory and every local module it calls, transitively."""
    found: list[Path] = []
    frontier = [Path(module_dir).resolve()]
    while frontier:
        current = frontier.pop()
        if current in found or not current.is_dir():
            continue
        found.append(current)
        for tf in current.glob("*.tf"):
            for source in _LOCAL_SOURCE.findall(tf.read_text(errors="replace")):
                frontier.append((current / source).resolve())
    return found


def _under(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


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
