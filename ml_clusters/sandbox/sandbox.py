"""The sandbox: an AWS emulator seeded from the estate, a fresh Dagster home, and `dagster dev` on top.

with Sandbox(SandboxOptions(...)) as sandbox:
    sandbox.prepare()          # emulator up, seeded, faults injected, DAGSTER_HOME written
    sandbox.start_dagster()    # `dagster dev` with every boto3 client pointed at the emulator
    ...
# leaving the block stops dagster (its whole process group), the metric feeder and the emulator
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from ml_clusters.estate import Estate, load_estate
from ml_clusters.sandbox import faults as fault_injection
from ml_clusters.sandbox import replication_metrics
from ml_clusters.sandbox.aws import AccountClients
from ml_clusters.sandbox.emulator import Emulator
from ml_clusters.sandbox.processes import ManagedProcess
from ml_clusters.sandbox.seed import SeedResult, seed_estate

REPO_ROOT = Path(__file__).resolve().parents[2]
# Asked of the code location: tick the sensors this often, so the demo's plots grow by the minute.
SENSOR_INTERVAL_ENV = "ML_CLUSTERS_SENSOR_INTERVAL_SECONDS"


@dataclass
class SandboxOptions:
    live_dir: Path
    home: Path = REPO_ROOT / ".dagster_home" / "sandbox"
    workspace: Path = REPO_ROOT / "workspace.yaml"
    host: str = "127.0.0.1"
    port: int = 3000
    faults: bool = True
    sensor_interval_seconds: int = 60


@dataclass
class Prepared:
    estate: Estate
    seed: SeedResult
    faults: list[fault_injection.Fault]
    emulator_url: str
    env: dict[str, str]
    seconds: float  # from reading the estate to faults injected


class Sandbox:
    def __init__(self, options: SandboxOptions):
        self.options = options
        self.emulator: Emulator | None = None
        self.dagster: ManagedProcess | None = None
        self.feeder: replication_metrics.MetricFeeder | None = None
        self.prepared: Prepared | None = None

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.options.host}:{self.options.port}"

    def prepare(self) -> Prepared:
        """Fresh home, emulator started and seeded from the estate, faults injected."""
        started = time.monotonic()
        estate = load_estate(self.options.live_dir)  # EstateError (one line) on a bad tree, before anything starts

        home = self.options.home
        reset_home(home)

        self.emulator = Emulator.start(workdir=home / "emulator")
        clients = AccountClients(self.emulator.url)
        seed = seed_estate(estate, clients)

        lagging = fault_injection.lagging_replica(seed) if self.options.faults else None
        rules = fault_injection.replication_rules(seed, lagging)
        replication_metrics.seed_history(clients, rules)
        faults = fault_injection.inject(seed, clients, self.emulator, lagging, rules) if self.options.faults else []
        self.feeder = replication_metrics.MetricFeeder(clients, rules).start()
        seconds = time.monotonic() - started

        write_instance_config(home)
        env = self.environment(home)
        self.prepared = Prepared(estate, seed, faults, self.emulator.url, env, seconds)
        return self.prepared

    def environment(self, home: Path) -> dict[str, str]:
        assert self.emulator is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # never a real credential
        env.update(self.emulator.environment())
        env.update(
            {
                "DAGSTER_HOME": str(home),
                "ML_CLUSTERS_LIVE_DIR": str(Path(self.options.live_dir).resolve()),
                SENSOR_INTERVAL_ENV: str(self.options.sensor_interval_seconds),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start_dagster(self) -> ManagedProcess:
        """`dagster dev` (webserver + daemon) on the sandbox home; returns at once, see probe.wait_for."""
        assert self.prepared is not None, "prepare() first"
        if not self.options.workspace.exists():
            raise FileNotFoundError(
                f"{self.options.workspace}: no workspace file to load the ml_clusters definitions from"
            )
        self.dagster = ManagedProcess(
            "dagster-dev",
            [
                sys.executable,
                "-m",
                "dagster",
                "dev",
                "-w",
                str(self.options.workspace),
                "-h",
                self.options.host,
                "-p",
                str(self.options.port),
            ],
            env=self.prepared.env,
            cwd=self.options.workspace.parent,
            log_path=self.options.home / "dagster-dev.log",
        )
        return self.dagster

    def stop(self) -> None:
        """Stop everything this sandbox started, dagster first (its sensors talk to the emulator)."""
        if self.dagster is not None:
            self.dagster.stop(grace_seconds=15.0)
            self.dagster = None
        if self.feeder is not None:
            self.feeder.stop()
            self.feeder = None
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None


class SandboxError(RuntimeError):
    pass


_MARKER = ".ml-clusters-sandbox"


def reset_home(home: Path) -> None:
    """Re-running starts clean: no old runs, ticks or emulator state. Only a directory the sandbox made
    (it carries a marker file) or an empty one is ever wiped."""
    if home.exists():
        if not (home / _MARKER).exists() and any(home.iterdir()):
            raise SandboxError(f"{home}: not a sandbox home (no {_MARKER} file) and not empty; refusing to wipe it")
        shutil.rmtree(home)
    home.mkdir(parents=True)
    (home / _MARKER).write_text("made by `ml-clusters sandbox`; wiped on every start\n")


def write_instance_config(home: Path) -> Path:
    """The sandbox's dagster.yaml: Dagster's embedded SQLite storage under `home`, sensors evaluated on
    threads so all four tick together, generous code-server start-up for a busy 2-core machine.

    `concurrency.pools.default_limit: 1` limits the `terragrunt` pool (the `terragrunt_units` step) to
    one step at a time, so two runs never apply the same unit at once, whatever launched them (the
    Materialize button, a sensor, the jobs). Run limits live under `concurrency.runs`: Dagster rejects
    `run_queue.max_concurrent_runs` next to a `concurrency` block."""
    config = {
        "telemetry": {"enabled": False},
        "nux": {"enabled": False},
        "sensors": {"use_threads": True, "num_workers": 4},
        "code_servers": {"local_startup_timeout": 300},
        "concurrency": {
            "runs": {"max_concurrent_runs": 2},
            "pools": {"default_limit": 1},
        },
    }
    path = home / "dagster.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
