"""Fixtures for the capacity tests: stubbed AWS clients, a fixed clock, a private cache and Dagster home.

`cli` runs a command in-process (typer's CliRunner, stdin is not a terminal); `console_script` runs the
real `ml-clusters` executable in a subprocess, optionally with a pseudo-terminal on stdin so the typed
confirmation is answered the way a person answers it.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from .responses import NOW, write_scenario

REPO = Path(__file__).resolve().parents[2]
STUBSITE = Path(__file__).resolve().parent / "stubsite"
sys.path.insert(0, str(STUBSITE))

import capacity_stubs  # noqa: E402  (test-only module next to sitecustomize.py)

WIDE = "200"  # columns: keep rich tables unwrapped in captured output


@pytest.fixture
def capacity_env(tmp_path, monkeypatch):
    """A clean environment: own offerings cache and DAGSTER_HOME, no ambient account/Region, fixed clock."""
    for name in ("ML_CLUSTERS_ACCOUNT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "ML_CLUSTERS_LIVE_DIR",
                 "ML_CLUSTERS_CAPACITY_ROLE"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "cache"
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("")  # an instance with Dagster's defaults (SQLite under DAGSTER_HOME)
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(cache))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("ML_CLUSTERS_NO_ASSUME_ROLE", "1")
    monkeypatch.setenv("COLUMNS", WIDE)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    from ml_clusters.capacity import aws, clock

    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(aws, "client_factory", aws.make_client)
    return tmp_path


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    calls: list[str] = field(default_factory=list)  # botocore methods the command called, in order
    pending: int = 0  # stubbed responses never asked for


@pytest.fixture
def cli(capacity_env, monkeypatch):
    app = typer.Typer()
    from ml_clusters.capacity.cli import register

    register(app)
    runner = CliRunner()

    def invoke(args: list[str], calls: list[dict], input: str | None = None) -> CliResult:
        stubbed = capacity_stubs.StubbedClients(calls)
        from ml_clusters.capacity import aws

        monkeypatch.setattr(aws, "client_factory", stubbed.factory)
        result = runner.invoke(app, args, input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr, stubbed.methods_called(), stubbed.pending())

    return invoke


@dataclass
class ScriptResult:
    exit_code: int
    stdout: str
    stderr: str
    calls: list[str]  # botocore methods called, in order
    calls_before_answer: list[str] | None  # what had been called when the prompt was on screen


@pytest.fixture
def console_script(capacity_env, tmp_path):
    exe = shutil.which("ml-clusters", path=str(REPO / ".venv" / "bin")) or str(REPO / ".venv" / "bin" / "ml-clusters")

    def run(args: list[str], calls: list[dict], *, answer: str | None = None, tty: bool = True,
            stdin_text: str = "") -> ScriptResult:
        scenario = write_scenario(tmp_path / f"scenario_{len(list(tmp_path.glob('scenario_*')))}.py", calls)
        call_log = scenario.with_suffix(".calls.jsonl")
        env = {**os.environ, "PYTHONPATH": str(STUBSITE), "ML_CLUSTERS_TEST_STUBS": str(scenario),
               "ML_CLUSTERS_TEST_CALL_LOG": str(call_log), "ML_CLUSTERS_TEST_NOW": NOW.isoformat(),
               "TERM": "dumb", "NO_COLOR": "1"}

        def logged() -> list[str]:
            if not call_log.exists():
                return []
            return [json.loads(line)[1] for line in call_log.read_text().splitlines() if line.strip()]

        if not tty:
            proc = subprocess.run([exe, *args], input=stdin_text, capture_output=True, text=True, env=env, cwd=REPO)
            return ScriptResult(proc.returncode, proc.stdout, proc.stderr, logged(), None)

        leader, follower = pty.openpty()
        proc = subprocess.Popen([exe, *args], stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=REPO)
        os.close(follower)
        seen = b""
        before = None
        try:
            # Read what the person would see until the confirmation question is on screen, then answer.
            while b"to confirm" not in seen:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
            if b"to confirm" in seen:
                before = logged()
                # No answer: end of input (Ctrl-D), as when a person closes the terminal.
                os.write(leader, answer.encode() + b"\n" if answer is not None else b"\x04")
            rest, err = proc.communicate()
        finally:
            os.close(leader)
        return ScriptResult(proc.returncode, (seen + rest).decode(), err.decode(), logged(), before)

    return run
