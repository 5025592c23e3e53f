"""The code location as Dagster's own CLI loads it from a clean checkout."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml_clusters.estate import load_estate

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ML_CLUSTERS_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("ML_CLUSTERS_LIVE_DIR", None)
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_definitions_validate(tmp_path: Path):
    proc = run(str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Validation successful" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_asset_list_has_every_unit(tmp_path: Path):
    proc = run(str(BIN / "dagster"), "asset", "list", "-m", "ml_clusters.definitions", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = {line.strip() for line in proc.stdout.splitlines() if line.strip()}
    units = set(load_estate(cache=False).units)
    assert units, "the live tree has no units"
    assert units <= listed, sorted(units - listed)


@pytest.mark.slow
def test_bad_live_tree_is_one_line_not_a_stack_trace(tmp_path: Path):
    live = tmp_path / "live"
    live.mkdir()
    (live / "unit").mkdir()
    (live / "unit" / "terragrunt.hcl").write_text('include "x" {\n')
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ML_CLUSTERS_LIVE_DIR": str(live)}
    proc = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"ml-clusters: the live tree cannot be read: {live}/unit/terragrunt.hcl: invalid HCL at line 2" in output
    assert "Traceback" not in output and "Stack Trace" not in output
