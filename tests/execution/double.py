"""Drive the terragrunt test double (tests/terragrunt_double/terragrunt) from tests and benchmarks.

    double = TerragruntDouble.create(tmp_path)
    double.script({"acme/us-east-1/storage": {"changes": [...]}}, defaults={"sleep": 0.2})
    env = double.env()            # ML_CLUSTERS_TERRAGRUNT, TG_DOUBLE_SCRIPT, TG_DOUBLE_STATE
    double.calls("plan")          # what the double recorded, one dict per finished command
    double.sequence_span(unit)    # order of its commands among all recorded lines (no clocks)
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOUBLE = REPO / "tests" / "terragrunt_double" / "terragrunt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SMALL_LIVE = FIXTURES / "small" / "live"

FSX_REPLACE = {"address": "aws_fsx_lustre_file_system.this", "type": "aws_fsx_lustre_file_system", "actions": ["delete", "create"]}


@dataclass
class TerragruntDouble:
    home: Path

    @classmethod
    def create(cls, directory: Path) -> "TerragruntDouble":
        home = Path(directory) / "tg-double"
        (home / "bin").mkdir(parents=True, exist_ok=True)
        (home / "state").mkdir(exist_ok=True)
        launcher = home / "bin" / "terragrunt"
        # -I -S: a bare interpreter starts in ~10 ms, so the double's own overhead stays negligible.
        launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "{DOUBLE}" "$@"\n')
        launcher.chmod(0o755)
        double = cls(home)
        double.script({})
        return double

    @property
    def binary(self) -> Path:
        return self.home / "bin" / "terragrunt"

    @property
    def state(self) -> Path:
        return self.home / "state"

    @property
    def script_file(self) -> Path:
        return self.home / "script.json"

    def script(self, units: dict, defaults: dict | None = None) -> None:
        self.script_file.write_text(json.dumps({"defaults": defaults or {}, "units": units}, indent=1))

    def env(self) -> dict[str, str]:
        return {
            "ML_CLUSTERS_TERRAGRUNT": str(self.binary),
            "TG_DOUBLE_SCRIPT": str(self.script_file),
            "TG_DOUBLE_STATE": str(self.state),
        }

    def records(self) -> list[dict]:
        path = self.state / "calls.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def calls(self, command: str | None = None, unit: str | None = None) -> list[dict]:
        """Finished commands (the `end` records), optionally filtered."""
        return [
            r
            for r in self.records()
            if r["event"] == "end" and (command is None or r["command"] == command) and (unit is None or r["unit"] == unit)
        ]

    def started(self, command: str | None = None, unit: str | None = None) -> list[dict]:
        return [
            r
            for r in self.records()
            if r["event"] == "start" and (command is None or r["command"] == command) and (unit is None or r["unit"] == unit)
        ]

    def sequence_span(self, unit: str | None = None, ppid: int | None = None) -> tuple[int, int]:
        """(line of the first start, line of the last end) in calls.jsonl for the unit's commands.

        The file is append-only (O_APPEND), so line order is the order things happened: a command's
        end line is written before it exits. Comparing lines asserts order without any clock.
        """
        lines = [
            (i, r) for i, r in enumerate(self.records())
            if (unit is None or r["unit"] == unit) and (ppid is None or r["ppid"] == ppid)
        ]  # fmt: skip
        assert lines, f"the double never ran {unit or ppid}"
        return min(i for i, r in lines if r["event"] == "start"), max(i for i, r in lines if r["event"] == "end")

    def lock_files(self) -> list[Path]:
        return sorted((self.state / "locks").glob("*.tflock")) if (self.state / "locks").exists() else []


def alive(pid: int | None) -> bool:
    """True if the process exists and is not a zombie."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def process_environment(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ML_CLUSTERS_", "TG_DOUBLE_", "DAGSTER_"))}
    env.update(extra)
    return env
