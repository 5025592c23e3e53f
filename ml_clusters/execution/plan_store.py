"""Saved plans, keyed by unit and code_version, so an apply can run exactly the plan someone reviewed.

Layout: `<root>/<unit path>/<code_version>/<run id>.tfplan` + `record.json` naming the current saved
plan (when, which run, the summary). Each run writes its own plan file, so a run never applies a
plan file another run is rewriting. Plan files hold the planned values, sensitive ones included:
the store is owner-only (0700).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ml_clusters.execution.plan_summary import PlanSummary

NO_CODE_VERSION = "no-code-version"
RECORD = "record.json"


@dataclass(frozen=True)
class StoredPlan:
    unit: str
    code_version: str
    plan_file: Path
    created_at: float  # epoch seconds, when the plan finished
    run_id: str
    summary: PlanSummary


def default_plan_dir(instance_root: str | None = None) -> Path:
    """$ML_CLUSTERS_PLAN_DIR, else $DAGSTER_HOME/ml-clusters/plans, else beside the Dagster instance."""
    if os.environ.get("ML_CLUSTERS_PLAN_DIR"):
        return Path(os.environ["ML_CLUSTERS_PLAN_DIR"]).expanduser().absolute()
    home = os.environ.get("DAGSTER_HOME") or instance_root
    if home:
        return Path(home).expanduser().absolute() / "ml-clusters" / "plans"
    # An ephemeral instance (tests, `dg.materialize` without an instance) has no home.
    return Path(tempfile.gettempdir()) / f"ml-clusters-plans-{os.getuid()}"


class PlanStore:
    def __init__(self, root: Path):
        self.root = Path(root).absolute()

    def _dir(self, unit: str, code_version: str | None) -> Path:
        return self.root / unit.strip("/") / (code_version or NO_CODE_VERSION)

    def plan_file(self, unit: str, code_version: str | None, run_id: str) -> Path:
        """Where this run writes a new plan for the unit (absolute; directory created owner-only)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        directory = self._dir(unit, code_version)
        directory.mkdir(parents=True, exist_ok=True)
        return directory / f"{_safe(run_id)}.tfplan"

    def forget(self, unit: str, code_version: str | None) -> None:
        """Drop the record, so a plan being rewritten is never taken for a saved plan."""
        (self._dir(unit, code_version) / RECORD).unlink(missing_ok=True)

    def save(self, unit: str, code_version: str | None, plan_file: Path, summary: PlanSummary, run_id: str) -> StoredPlan:
        directory = self._dir(unit, code_version)
        previous = self.load(unit, code_version)
        record = {
            "unit": unit,
            "code_version": code_version or NO_CODE_VERSION,
            "plan_file": Path(plan_file).name,
            "created_at": time.time(),
            "run_id": run_id,
            "summary": summary.to_dict(),
        }
        tmp = directory / f"{RECORD}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(record, indent=1))
        tmp.replace(directory / RECORD)
        if previous is not None and previous.plan_file.name != Path(plan_file).name:
            previous.plan_file.unlink(missing_ok=True)
        return self._stored(directory, record)

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
            self.forget(unit, code_version)
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
