"""Terminating a run the way the Dagster UI does: through the instance's run launcher.

A code server (`dagster api grpc`) serves the units; the run is launched through the instance's
DefaultRunLauncher (run worker process → multiprocess executor → step process → terragrunt), and
terminated with `instance.run_launcher.terminate(run_id)`, which is what the UI's Terminate button
calls. The step must interrupt terragrunt so OpenTofu releases the state lock, and leave nothing
running.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from .double import SMALL_LIVE, TerragruntDouble, alive, process_environment

DAGSTER = Path(sys.executable).parent / "dagster"
LOCATION = Path(__file__).resolve().parent / "units_location.py"
ROOTS = ("acme/us-east-1/networking", "acme/us-east-1/kms", "acme/us-west-2/networking")  # no dependencies
CREATE = {"address": "null_resource.x", "type": "null_resource", "actions": ["create"]}
BOUND = 180.0  # seconds any one wait may take before the test gives up (a loaded 2-core machine)

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, limit: float = BOUND) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


def serving(port: int) -> bool:
    from dagster._grpc.client import DagsterGrpcClient

    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").ping("ready?")
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


@pytest.fixture
def code_server(tmp_path: Path):
    """DAGSTER_HOME launching runs at once (no daemon), and a code server for the units on a free port."""
    double = TerragruntDouble.create(tmp_path)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n"
    )
    env = process_environment(
        {
            **double.env(),
            "DAGSTER_HOME": str(home),
            "ML_CLUSTERS_LIVE_DIR": str(SMALL_LIVE),
            "ML_CLUSTERS_PLAN_DIR": str(tmp_path / "plans"),
            "ML_CLUSTERS_CACHE_DIR": str(tmp_path / "estate-cache"),
        }
    )
    with dg.DagsterInstance.from_config(str(home)):
        pass  # the SQLite schema exists before any process (code server, CLI, run worker) opens it
    port = free_port()
    server = subprocess.Popen(
        [str(DAGSTER), "api", "grpc", "-f", str(LOCATION), "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: serving(port) or server.poll() is not None, "the code server to serve")
        assert server.poll() is None, f"the code server exited: {server.stderr.read()[-2000:]}"
        workspace = tmp_path / "workspace.yaml"
        workspace.write_text(
            f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {port}\n      location_name: units\n"
        )
        yield double, home, env, workspace
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_terminating_the_run_like_the_ui_releases_the_lock_and_leaves_no_process(code_server):
    double, home, env, workspace = code_server
    double.script({}, defaults={"sleep": 120, "changes": [CREATE], "interrupt_delay": 0.3})
    config = {"ops": {"terragrunt_units": {"config": {"mode": "apply", "parallelism": 6}}}}
    launch = subprocess.run(
        [str(DAGSTER), "job", "launch", "-w", str(workspace), "-j", "terragrunt_apply", "--config-json", json.dumps(config)],
        env=env, capture_output=True, text=True, timeout=BOUND,
    )  # fmt: skip
    assert launch.returncode == 0, launch.stdout[-2000:] + launch.stderr[-3000:]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        # Every root unit is inside `plan`, holding its state lock.
        wait_for(lambda: len(double.lock_files()) == len(ROOTS), "the three root units to hold their state locks")
        assert {r["unit"] for r in double.started("plan")} == set(ROOTS)

        assert instance.run_launcher.terminate(run.run_id)  # what the UI's Terminate button calls

        terminal = {dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS}
        wait_for(lambda: instance.get_run_by_id(run.run_id).status in terminal, "the run to end")
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED

    assert double.lock_files() == []  # OpenTofu got SIGINT and released every state lock
    ended = double.calls("plan")
    assert {c["unit"] for c in ended} == set(ROOTS)  # each root recorded its own (interrupted) end
    for call in ended:
        assert call["interrupted"] is True and call["exit"] == 1, call
        assert not alive(call["pid"]) and not alive(call["child_pid"]), f"{call['unit']}: a process outlived the run"
    # The step processes that ran terragrunt are gone too (bounded wait: they exit after the cancel).
    for step_pid in {c["ppid"] for c in ended}:
        wait_for(lambda: not alive(step_pid), f"the step process {step_pid} to exit")
    assert double.calls("apply") == [] and double.started("apply") == []
    assert {r["unit"] for r in double.started()} == set(ROOTS)  # no dependent was started after the cancel
