"""`dagster asset materialize` as a subprocess against a temporary DAGSTER_HOME and the terragrunt double."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from .double import SMALL_LIVE, TerragruntDouble, alive, process_environment

DAGSTER = Path(sys.executable).parent / "dagster"
LOCATION = Path(__file__).resolve().parent / "units_location.py"
KMS, CLUSTER = "acme/us-east-1/kms", "acme/us-east-1/cluster"
SECRET = "tok-SENSITIVE-93f1c2"
EKS_CREATE = {"address": "aws_eks_cluster.this", "type": "aws_eks_cluster", "actions": ["create"]}
KMS_CREATE = {"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(tmp_path: Path):
    double = TerragruntDouble.create(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = process_environment(
        {
            **double.env(),
            "DAGSTER_HOME": str(home),
            "ML_CLUSTERS_LIVE_DIR": str(SMALL_LIVE),
            "ML_CLUSTERS_PLAN_DIR": str(tmp_path / "plans"),
            "ML_CLUSTERS_CACHE_DIR": str(tmp_path / "estate-cache"),
        }
    )
    return double, home, env


def materialize_args(select: str, config: dict) -> list[str]:
    return [
        str(DAGSTER), "asset", "materialize", "-f", str(LOCATION), "--select", select,
        "--config-json", json.dumps({"ops": {"terragrunt_units": {"config": config}}}),
    ]  # fmt: skip


def materialize(env, select: str, config: dict) -> subprocess.CompletedProcess:
    return subprocess.run(materialize_args(select, config), env=env, capture_output=True, text=True, timeout=300)


def test_plan_then_apply_and_sensitive_outputs_never_reach_dagster_storage(setup):
    double, home, env = setup
    double.script({CLUSTER: {"changes": [EKS_CREATE], "outputs": {
        "endpoint": {"value": "https://eks.example"}, "admin_token": {"value": SECRET, "sensitive": True}}}})

    plan = materialize(env, f'key:"{CLUSTER}"', {"mode": "plan"})
    assert plan.returncode == 0, plan.stderr[-3000:]
    cluster = dg.AssetKey(CLUSTER.split("/"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_latest_materialization_event(cluster) is None
        observation = instance.fetch_observations(cluster, limit=1).records[0].asset_observation
        assert observation.metadata["to_add"].value == 1
        (check,) = instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(cluster, "plan_safe"), limit=5)
        assert check.evaluation.passed

    apply = materialize(env, f'key:"{CLUSTER}"', {"mode": "apply"})
    assert apply.returncode == 0, apply.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        metadata = instance.get_latest_materialization_event(cluster).asset_materialization.metadata
        assert metadata["outputs"].value == {"admin_token": "(sensitive)", "endpoint": "https://eks.example"}
    assert [c["command"] for c in double.calls()] == ["plan", "show", "apply", "output"]

    # The value is in the double's state (it is the "cloud"), and nowhere Dagster writes.
    assert SECRET in (double.state / "state" / "acme__us-east-1__cluster.json").read_text()
    dagster_files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in dagster_files)
    for path in dagster_files:
        assert SECRET.encode() not in path.read_bytes(), f"sensitive output value found in {path}"
    assert SECRET not in plan.stdout + plan.stderr + apply.stdout + apply.stderr


def test_cancelling_the_run_interrupts_terragrunt_releases_the_lock_and_leaves_no_process(setup):
    double, home, env = setup
    double.script({KMS: {"sleep": 60, "changes": [KMS_CREATE], "interrupt_delay": 0.3}})
    proc = subprocess.Popen(
        materialize_args(f'key:"{KMS}"', {"mode": "apply"}), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (double.started("plan", KMS) and double.lock_files()):
            assert proc.poll() is None and time.monotonic() < deadline, "terragrunt never started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # what Ctrl-C, or a run termination from the UI, delivers
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    (plan,) = double.calls("plan", KMS)
    assert plan["interrupted"] is True and plan["exit"] == 1
    assert double.lock_files() == []  # OpenTofu got the chance to release the state lock
    assert not alive(plan["pid"]) and not alive(plan["child_pid"])
    assert double.calls("apply") == []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE


def test_two_runs_never_run_terragrunt_at_the_same_time_with_a_pool_limit(setup):
    double, home, env = setup
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nconcurrency:\n  pools:\n    default_limit: 1\n")
    double.script({KMS: {"sleep": 1.0, "changes": [KMS_CREATE]}})
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_runs()  # create the SQLite storage once, not racing from two processes
    procs = [
        subprocess.Popen(materialize_args(f'key:"{KMS}"', {"mode": "apply"}), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    step_processes = {call["ppid"] for call in double.calls(unit=KMS)}  # one step process per run
    assert len(step_processes) == 2, "expected the commands of two runs"
    # In the double's append-only log, every line of one run comes before every line of the other.
    first, second = sorted(double.sequence_span(KMS, ppid=pid) for pid in step_processes)
    assert first[1] < second[0], "the two runs ran terragrunt against the unit at the same time"
