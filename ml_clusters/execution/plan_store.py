"""Saved plans, keyed by unit and code_version, so an apply can run exactly the plan someone reviewed.

Layout: `<root>/<unit path>/<code_version>/<run id>.tfplan` + `record.json` naming the current saved
plan (when, which run, the summary). Each run writes its own plan file, so a run never applies a
plan file another run is rewriting.

Plan files hold the planned values, sensitive ones included, so the store root is a directory of our
own: `ml-clusters-plans`, created owner-only (0700) inside the configured base directory. The base
(ML_CLUSTERS_PLAN_DIR, DAGSTER_HOME, ...) may be shared, so it is never chmod-ed; an existing store
root is used only when it is a real directory owned by us with no group/other access, never "fixed".
"""

from __future__ import annotations

import json
import os
import re
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ml_clusters.execution.plan_summary import PlanSummary

NO_CODE_VERSION = "no-code-version"
RECORD = "record.json"
APPLY_MARK = "last-apply.json"
STORE_DIR_NAME = "ml-clusters-plans"


class PlanStoreError(Exception):
    """The plan store can't be used safely or at all, as one line naming the directory."""


@dataclass(frozen=True)
class StoredPlan:
    unit: str
    code_version: str
    plan_file: Path
    created_at: float  # epoch seconds, when the plan finished
    run_id: str
    summary: PlanSummary


def default_plan_dir(instance_root: str | None = None) -> Path:
    """The store root: `ml-clusters-plans` inside $ML_CLUSTERS_PLAN_DIR, else $DAGSTER_HOME, else the
    Dagster instance's directory, else the per-user cache ($XDG_CACHE_HOME or ~/.cache)/ml-clusters."""
    if os.environ.get("ML_CLUSTERS_PLAN_DIR"):
        base = Path(os.environ["ML_CLUSTERS_PLAN_DIR"]).expanduser()
    elif os.environ.get("DAGSTER_HOME") or instance_root:
        base = Path(os.environ.get("DAGSTER_HOME") or instance_root).expanduser()  # type: ignore[arg-type]
    else:
        # An ephemeral instance (`dg.materialize` without one) has no home. Not /tmp: a predictable
        # shared path there could be created first by another user.
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(cache).expanduser() / "ml-clusters"
    return base.absolute() / STORE_DIR_NAME


def ensure_private_dir(directory: Path) -> Path:
    """Create `directory` owner-only if missing (parents as the umask says); check an existing one.

    Raises PlanStoreError (one line naming the directory) when it can't be created, or exists but is
    not a directory we own with no group/other permissions. Only a directory made here is chmod-ed.
    """
    directory = Path(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(directory, 0o700)  # ours, just made: the umask may not have left exactly 0700
        info = os.lstat(directory)
    except OSError as error:
        raise PlanStoreError(
            f"plan store {directory}: cannot create it ({error.strerror or error}); "
            "set ML_CLUSTERS_PLAN_DIR to a directory you can write"
        ) from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise PlanStoreError(f"plan store {directory}: exists but is not a directory (a symlink or file); refusing to use it")
    if info.st_uid != os.getuid():
        raise PlanStoreError(
            f"plan store {directory}: owned by uid {info.st_uid}, not by this user (uid {os.getuid()}); "
            "set ML_CLUSTERS_PLAN_DIR to a directory of your own"
        )
    if info.st_mode & 0o077:
        raise PlanStoreError(
            f"plan store {directory}: mode {stat.S_IMODE(info.st_mode):04o} lets other users in and saved plans "
            "hold sensitive values; `chmod 700` it or set ML_CLUSTERS_PLAN_DIR elsewhere"
        )
    return directory


class PlanStore:
    def __init__(self, root: Path):
        self.root = Path(root).absolute()
        self._checked = False

    def ensure(self) -> Path:
        """Create or check the store root (see ensure_private_dir); once per store object."""
        if not self._checked:
            ensure_private_dir(self.root)
            self._checked = True
        return self.root

    def _dir(self, unit: str, code_version: str | None) -> Path:
        return self.root / unit.strip("/") / (code_version or NO_CODE_VERSION)

    def plan_file(self, unit: str, code_version: str | None, run_id: str) -> Path:
        """Where this run writes a new plan for the unit (absolute; directory created owner-only)."""
        self.ensure()
        directory = self._dir(unit, code_version)
        try:
            directory.mkdir(parents=True, exist_ok=True)  # inside the owner-only root
        except OSError as error:
            raise PlanStoreError(f"plan store {directory}: cannot create it ({error.strerror or error})") from None
        return directory / f"{_safe(run_id)}.tfplan"

    def forget(self, unit: str, code_version: str | None) -> StoredPlan | None:
        """Drop the record, so a plan being rewritten is never taken for a saved plan.

        Returns the plan the record named; its file stays until a new plan is saved over it (`save`'s
        `supersedes`), so a run still applying it is not pulled from under.
        """
        dropped = self.load(unit, code_version)
        (self._dir(unit, code_version) / RECORD).unlink(missing_ok=True)
        return dropped

    def save(
        self,
        unit: str,
        code_version: str | None,
        plan_file: Path,
        summary: PlanSummary,
        run_id: str,
        supersedes: StoredPlan | None = None,
    ) -> StoredPlan:
        """Record `plan_file` as the unit's saved plan and remove the file of the plan it replaces
        (the current record's, else `supersedes`: what `forget` dropped before this plan was made)."""
        directory = self._dir(unit, code_version)
        previous = self.load(unit, code_version) or supersedes
        record = {
            "unit": unit,
            "code_version": code_version or NO_CODE_VERSION,
            "plan_file": Path(plan_file).name,
            "created_at": time.time(),
            "run_id": run_id,
            "summary": summary.to_dict(),
        }
        tmp = directory / f"{RECORD}.{os.getpid()}.tmp"
        try:
            tmp.write_text(json.dumps(record, indent=1))
            tmp.replace(directory / RECORD)
        except OSError as error:
            raise PlanStoreError(f"plan store {directory}: cannot write {RECORD} ({error.strerror or error})") from None
        if previous is not None and previous.plan_file.name != Path(plan_file).name:
            previous.plan_file.unlink(missing_ok=True)
        self._prune_other_code_versions(unit, directory)
        return self._stored(directory, record)

    def _prune_other_code_versions(self, unit: str, keep: Path) -> None:
        """Plans made for the unit's earlier code versions can never be applied again (an apply wants
        the current code_version) but hold sensitive values: remove them when a new plan is saved."""
        unit_dir = self.root / unit.strip("/")
        for directory in unit_dir.iterdir():
            if directory == keep or not directory.is_dir() or directory.is_symlink():
                continue
            # Only the store's own plan directories: a nested unit's directory holds none of these.
            leftovers = [*directory.glob("*.tfplan"), *directory.glob(f"{RECORD}*")]
            for path in leftovers:
                path.unlink(missing_ok=True)
            if leftovers:
                try:
                    directory.rmdir()
                except OSError:
                    pass  # something else lives there: leave it

    def record_apply_attempt(self, unit: str) -> None:
        """Note that an apply of the unit started or ended now, whatever its outcome: a failed or
        interrupted apply may still have changed the unit's state and outputs, so plans of its
        dependents made before now must not be applied."""
        self.ensure()
        unit_dir = self.root / unit.strip("/")
        try:
            unit_dir.mkdir(parents=True, exist_ok=True)
            tmp = unit_dir / f"{APPLY_MARK}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_text(json.dumps({"at": time.time()}))
            tmp.replace(unit_dir / APPLY_MARK)
        except OSError as error:
            raise PlanStoreError(f"plan store {unit_dir}: cannot write {APPLY_MARK} ({error.strerror or error})") from None

    def last_apply_attempt(self, unit: str) -> float:
        """When an apply of the unit last started or ended (epoch), 0.0 if never through this store."""
        try:
            return float(json.loads((self.root / unit.strip("/") / APPLY_MARK).read_text())["at"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def abandon(self, plan_file: Path, superseded: StoredPlan | None) -> None:
        """A new plan failed: remove its partial file and the file of the plan `forget` dropped for it.
        Neither is recorded any more, and both hold sensitive values."""
        Path(plan_file).unlink(missing_ok=True)
        if superseded is not None:
            superseded.plan_file.unlink(missing_ok=True)

    def load(self, unit: str, code_version: str | None) -> StoredPlan | None:
        directory = self._dir(unit, code_version)
        try:
            record = json.loads((directory / RECORD).read_text())
        except (FileNotFoundError, ValueError):
            return None
        stored = self._stored(directory, record)
        return stored if stored.plan_file.exists() else None

    def discard(self, unit: str, code_version: str | None, plan_file: Path) -> None:
        """Remove a consumed plan (after apply): a plan is applied at most once."""
        current = self.load(unit, code_version)
        if current is not None and current.plan_file == Path(plan_file):
            (self._dir(unit, code_version) / RECORD).unlink(missing_ok=True)
        Path(plan_file).unlink(missing_ok=True)

    @staticmethod
    def _stored(directory: Path, record: dict) -> StoredPlan:
        return StoredPlan(
            unit=record["unit"],
            code_version=record["code_version"],
            plan_file=directory / record["plan_file"],
            created_at=float(record["created_at"]),
            run_id=record.get("run_id", ""),
            summary=PlanSummary.from_dict(record["summary"]),
        )


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "run"
