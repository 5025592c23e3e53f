"""TerragruntCli against the process-level double: command lines, streaming, faults, signals."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from ml_clusters.resources.terragrunt import (
    Control,
    StateLockHeld,
    TerragruntCancelled,
    TerragruntCli,
    TerragruntCommandFailed,
    TerragruntNotFound,
    TerragruntTimedOut,
    parse_lock_info,
)

from .double import FSX_REPLACE, SMALL_LIVE, alive

UNIT = "acme/us-east-1/storage"
UNIT_DIR = SMALL_LIVE / UNIT


def test_command_lines_follow_the_terragrunt_1_contract(double, tmp_path: Path):
    double.script({UNIT: {"changes": [FSX_REPLACE], "outputs": {"fsx_id": {"value": "fs-1"}}}})
    cli = TerragruntCli(lock_timeout="90s")
    plan_file = tmp_path / "p" / "plan.tfplan"
    plan_file.parent.mkdir()
    run = cli.plan(UNIT_DIR, plan_file)
    cli.show_plan(UNIT_DIR, plan_file)
    cli.apply(UNIT_DIR, plan_file)
    cli.outputs(UNIT_DIR)

    head = ["--working-dir", str(UNIT_DIR), "--non-interactive", "run", "--"]
    assert [c["args"] for c in double.calls()] == [
        head + ["plan", "-input=false", "-lock-timeout=90s", "-detailed-exitcode", f"-out={plan_file}"],
        head + ["show", "-json", str(plan_file)],
        head + ["apply", "-input=false", str(plan_file)],
        head + ["output", "-json"],
    ]
    assert run.has_changes and run.result.exit_code == 2


def test_tf_path_comes_from_the_environment(double, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_TF_PATH", "true")  # any executable on PATH stands in for tofu
    TerragruntCli().outputs(UNIT_DIR)
    (call,) = double.calls("output")
    assert call["args"][:6] == ["--working-dir", str(UNIT_DIR), "--non-interactive", "--tf-path", "true", "run"]


def test_no_changes_is_exit_code_zero(double, tmp_path: Path):
    run = TerragruntCli().plan(UNIT_DIR, tmp_path / "plan.tfplan")
    assert not run.has_changes and run.result.exit_code == 0


def test_missing_binary_names_what_to_install(monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", "/nonexistent/terragrunt")
    with pytest.raises(TerragruntNotFound) as error:
        TerragruntCli().executable()
    assert "Terragrunt >= 1.0" in str(error.value) and "OpenTofu >= 1.10" in str(error.value)
    assert "/nonexistent/terragrunt" in str(error.value)


def test_relative_plan_paths_are_refused(double):
    with pytest.raises(ValueError, match="absolute"):
        TerragruntCli().plan(UNIT_DIR, Path("plan.tfplan"))


def test_output_streams_line_by_line_while_the_command_runs(double, tmp_path: Path):
    go = tmp_path / "go"
    # The double prints its first progress line, then waits for `go`, which only our line callback
    # creates: the plan finishes normally only if that line reached us while it was running.
    double.script({UNIT: {"changes": [FSX_REPLACE], "drift": [FSX_REPLACE], "wait_for_file": str(go)}})
    received: list[tuple[str, str]] = []

    def on_line(stream: str, line: str) -> None:
        received.append((stream, line))
        if "Refreshing state" in line:
            go.touch()

    TerragruntCli().plan(UNIT_DIR, tmp_path / "plan.tfplan", on_line=on_line)
    (call,) = double.calls("plan")
    assert call["gate"] == "opened", "the progress line arrived only after the process exited"
    assert any(stream == "stderr" and "Running command: tofu plan" in line for stream, line in received)
    assert any(stream == "stdout" and "must be replaced" in line for stream, line in received)


def test_sensitive_outputs_display_as_sensitive(double, tmp_path: Path):
    double.script({UNIT: {"outputs": {"password": {"value": "s3cr3t-value", "sensitive": True}, "id": {"value": "fs-1"}}}})
    cli = TerragruntCli()
    plan_file = tmp_path / "plan.tfplan"
    cli.plan(UNIT_DIR, plan_file)
    cli.apply(UNIT_DIR, plan_file)
    outputs = cli.outputs(UNIT_DIR)
    assert outputs["password"].display() == "(sensitive)" and outputs["id"].display() == "fs-1"
    assert "s3cr3t" not in repr(outputs)


def test_failure_carries_the_last_lines_of_stderr(double, tmp_path: Path):
    double.script({UNIT: {"fail": {"command": "plan", "message": "Error: creating FSx Lustre: AccessDenied"}}})
    with pytest.raises(TerragruntCommandFailed) as error:
        TerragruntCli().plan(UNIT_DIR, tmp_path / "plan.tfplan")
    assert "exited with code 1" in str(error.value)
    assert "Error: creating FSx Lustre: AccessDenied" in str(error.value)


def test_held_lock_is_retried_with_backoff_then_succeeds(double, tmp_path: Path):
    double.script({UNIT: {"lock_held": 2}})
    notes: list[str] = []
    cli = TerragruntCli(lock_timeout="0s", lock_retries=3, lock_retry_backoff_seconds=0.05)
    cli.plan(UNIT_DIR, tmp_path / "plan.tfplan", on_line=lambda s, l: notes.append(l))
    assert [c["exit"] for c in double.calls("plan")] == [1, 1, 0]
    assert [n for n in notes if "state lock held; retry" in n] == [
        "[ml-clusters] state lock held; retry 1/3 in 0.05s",
        "[ml-clusters] state lock held; retry 2/3 in 0.1s",
    ]


def test_lock_held_past_the_bound_quotes_the_lock_info(double, tmp_path: Path):
    double.script({UNIT: {"lock_held": 10}})
    cli = TerragruntCli(lock_timeout="0s", lock_retries=2, lock_retry_backoff_seconds=0.01)
    with pytest.raises(StateLockHeld) as error:
        cli.plan(UNIT_DIR, tmp_path / "plan.tfplan")
    assert len(double.calls("plan")) == 3
    message = str(error.value)
    assert "(`terragrunt run -- plan -input=false` after 3 attempts)" in message and "Lock Info:" in message
    assert "Who: alice@build-agent-7" in message
    assert "ID: 3f6bd6a1-0c47-6a5b-c4f2-9d1e0e4a1b17" in message


def test_lock_info_parser_tolerates_terragrunt_prefixes():
    lines = [
        "10:01:02.123 STDERR [u] tofu: │ Error: Error acquiring the state lock",
        "10:01:02.123 STDERR [u] tofu: │ Lock Info:",
        "10:01:02.123 STDERR [u] tofu: │   ID:        abc",
        "10:01:02.123 STDERR [u] tofu: │   Who:       bob@ci",
        "10:01:02.123 STDERR [u] tofu: │ ",
    ]
    assert parse_lock_info(lines) == {"ID": "abc", "Who": "bob@ci"}
    assert parse_lock_info(["Error: something else"]) is None


def _run_in_thread(fn):
    box: dict = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def _wait_for(predicate, what: str, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def test_cancel_sends_sigint_to_terragrunt_releases_the_lock_and_leaves_no_process(double, tmp_path: Path):
    double.script({UNIT: {"changes": [FSX_REPLACE], "sleep": 30, "interrupt_delay": 0.2}})
    control = Control()
    cli = TerragruntCli(interrupt_grace_seconds=20)
    thread, box = _run_in_thread(lambda: cli.plan(UNIT_DIR, tmp_path / "plan.tfplan", control=control))
    _wait_for(lambda: double.started("plan") and double.lock_files(), "the plan to hold the lock")
    control.cancel.set()
    thread.join(30)
    assert isinstance(box.get("error"), TerragruntCancelled)
    (call,) = double.calls("plan")
    assert call["interrupted"] is True  # it saw SIGINT and released the lock itself
    assert double.lock_files() == []
    assert not alive(call["pid"]) and not alive(call["child_pid"])


# Terragrunt's own signal handling, reduced to what matters here: it runs tofu as a child in its
# process group and, on SIGINT, forwards it to tofu after a delay (15 s in terragrunt 1.x, meant for a
# terminal's Ctrl-C that reaches both). The tofu stand-in needs a while to stop gracefully and counts
# the interrupts it gets: a second one is what makes the real tofu exit at once, losing state.
_FAKE_TOFU = """
import os, signal, sys, time
count_file = os.environ["TG_FAKE_COUNT"]
interrupts = []
def on_int(*_):
    interrupts.append(1)
    with open(count_file, "w") as out:
        out.write(str(len(interrupts)))
signal.signal(signal.SIGINT, on_int)
open(count_file + ".ready", "w").close()
while not interrupts:
    time.sleep(0.01)
time.sleep(1.0)  # a graceful stop takes time: in-flight operations finish, the lock is released
sys.exit(1)
"""

_FORWARDING_TERRAGRUNT = """#!{python}
import signal, subprocess, sys, time
tofu = subprocess.Popen([sys.executable, {tofu!r}])
def forward(*_):
    time.sleep(0.3)  # terragrunt's SignalForwardingDelay, scaled down
    tofu.send_signal(signal.SIGINT)
signal.signal(signal.SIGINT, forward)
sys.exit(tofu.wait())
"""


def test_cancel_reaches_tofu_exactly_once_through_terragrunt(tmp_path: Path, monkeypatch):
    tofu = tmp_path / "tofu.py"
    tofu.write_text(_FAKE_TOFU)
    fake = tmp_path / "terragrunt"
    fake.write_text(_FORWARDING_TERRAGRUNT.format(python=sys.executable, tofu=str(tofu)))
    fake.chmod(0o755)
    count = tmp_path / "interrupts"
    monkeypatch.setenv("TG_FAKE_COUNT", str(count))
    control = Control()
    cli = TerragruntCli(binary=str(fake), interrupt_grace_seconds=20)
    thread, box = _run_in_thread(lambda: cli.plan(UNIT_DIR, tmp_path / "plan.tfplan", control=control))
    _wait_for(lambda: Path(f"{count}.ready").exists(), "the tofu stand-in to start")
    control.cancel.set()
    thread.join(30)
    assert isinstance(box.get("error"), TerragruntCancelled)
    assert count.read_text() == "1"  # one interrupt: a graceful stop, never "two interrupts received"


def test_sigint_ignored_escalates_to_sigkill_of_the_whole_group(double, tmp_path: Path):
    double.script({UNIT: {"sleep": 30, "ignore_sigint": True}})
    control = Control()
    cli = TerragruntCli(interrupt_grace_seconds=0.5)
    thread, box = _run_in_thread(lambda: cli.plan(UNIT_DIR, tmp_path / "plan.tfplan", control=control))
    _wait_for(lambda: double.started("plan"), "the plan to start")
    (started,) = double.started("plan")
    # The double records its stand-in tofu child only at the end; find it through /proc instead.
    _wait_for(lambda: _children(started["pid"]), "the double to start its child")
    children = _children(started["pid"])
    control.cancel.set()
    thread.join(30)
    assert isinstance(box.get("error"), TerragruntCancelled)
    assert not alive(started["pid"])
    assert not any(alive(pid) for pid in children)  # the grandchild went with the group: no orphan
    assert double.calls("plan") == []  # SIGKILL: it never got to record an end


def test_unit_timeout_interrupts_the_command(double, tmp_path: Path):
    double.script({UNIT: {"sleep": 30}})
    control = Control(deadline=time.monotonic() + 0.5, timeout_seconds=0.5)
    with pytest.raises(TerragruntTimedOut) as error:
        TerragruntCli().plan(UNIT_DIR, tmp_path / "plan.tfplan", control=control)
    assert "hit the unit timeout of 0.5s" in str(error.value)
    (call,) = double.calls("plan")
    assert call["interrupted"] and double.lock_files() == []
    assert not alive(call["pid"]) and not alive(call["child_pid"])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


def test_lock_timeout_must_be_a_duration():
    with pytest.raises(Exception, match="not a duration"):
        TerragruntCli(lock_timeout="five minutes")
