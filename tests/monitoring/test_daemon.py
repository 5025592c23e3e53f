"""One real tick: `dagster-daemon` as a subprocess, a SQLite instance in a temp DAGSTER_HOME, the
emulator over HTTP. The sensor is on by default; its check evaluation must land in the instance on
the declared check of the right asset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from tests.monitoring.emulator import MAIN
from tests.monitoring.test_replication import CENTRAL, REPLICAS, RULE_OF, SLOW, seed_hub_and_spoke
from tests.support.moto_server import emulator_environment

REPO = Path(__file__).resolve().parents[2]
TICK_DEADLINE_SECONDS = 240  # generous: a bound against hanging, not a performance claim


@pytest.mark.slow
def test_daemon_tick_records_the_replication_check(emulator, tmp_path):
    seed_hub_and_spoke(emulator)
    for unit, (_, region, bucket) in REPLICAS.items():
        latency = 1500 if unit == SLOW else 45
        emulator.replication_metrics(MAIN, region, CENTRAL, bucket, RULE_OF[unit], latency=latency)

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n"
        "  - python_module:\n"
        "      module_name: tests.monitoring.daemon_workspace\n"
        f"      working_directory: {REPO}\n"
        "      location_name: ml_clusters_monitoring\n"
    )
    env = {**os.environ, **emulator_environment(emulator.endpoint), "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    slow_key = dg.AssetCheckKey(dg.AssetKey(SLOW.split("/")), "replication_within_rtc")
    fine_key = dg.AssetCheckKey(dg.AssetKey("secondary-account/us-west-2/s3-data-replica".split("/")), "replication_within_rtc")
    log = tmp_path / "daemon.log"
    # The instance is opened (its SQLite schema created) before the daemon starts: two processes
    # creating the same schema at once race ("table ... already exists") and the daemon dies of it.
    with dg.DagsterInstance.from_config(str(home)) as instance, log.open("wb") as out:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-w", str(workspace)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server it spawns stops with it
        )
        try:
            deadline = time.monotonic() + TICK_DEADLINE_SECONDS
            slow = fine = None
            while (slow is None or fine is None) and time.monotonic() < deadline:
                assert daemon.poll() is None, log.read_text()[-3000:]
                time.sleep(1)
                slow = instance.get_latest_asset_check_evaluation_record(slow_key)
                fine = instance.get_latest_asset_check_evaluation_record(fine_key)
            assert slow is not None and fine is not None, log.read_text()[-3000:]
            evaluation = slow.event.asset_check_evaluation
            assert evaluation.passed is False
            assert evaluation.metadata["rule_id"].value == RULE_OF[SLOW]
            assert "1500s > 900s" in evaluation.description
            assert fine.event.asset_check_evaluation.passed is True
            # The observation beside it carries the numbers the UI plots (other sensors observe the
            # same asset too, e.g. drift_sensor: pick the replication one).
            records = instance.fetch_observations(dg.AssetKey(SLOW.split("/")), limit=50).records
            latencies = [
                r.asset_observation.metadata["replication/max_latency_seconds"].value
                for r in records
                if "replication/max_latency_seconds" in r.asset_observation.metadata
            ]
            assert latencies and latencies[0] == 1500
        finally:
            _stop_group(daemon)


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the daemon's group (its code server too), SIGKILL if it lingers; an already-dead daemon
    must not mask the assertion that reported it."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            process.wait(timeout=wait)
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
