"""The sandbox leaves nothing behind: process groups are stopped whole, and a killed sandbox's emulator exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ml_clusters.sandbox.emulator import Emulator
from ml_clusters.sandbox.processes import ManagedProcess


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited; only its exit status is left


def _wait_until_gone(pid: int, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_stop_ends_the_whole_process_group_including_grandchildren(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    script = (
        "import subprocess, sys, time, pathlib\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    process = ManagedProcess("tree", [sys.executable, "-c", script], log_path=tmp_path / "tree.log")
    while not pid_file.exists():
        assert process.running(), process.log_tail()
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    assert _alive(grandchild)
    process.stop(grace_seconds=5)
    assert not process.running()
    assert _wait_until_gone(grandchild), "the grandchild outlived the stop"


def test_emulator_answers_and_is_gone_after_stop(tmp_path):
    emulator = Emulator.start(workdir=tmp_path)
    pid = emulator.process.pid
    assert emulator.url.startswith("http://127.0.0.1:")
    assert emulator.rss_bytes() > 0
    emulator.stop()
    assert _wait_until_gone(pid)


def test_a_killed_sandbox_takes_its_emulator_with_it(tmp_path):
    """SIGKILL cannot be caught: the emulator notices its parent died and exits by itself."""
    pid_file = tmp_path / "emulator.pid"
    script = (
        "import pathlib, time\n"
        "from ml_clusters.sandbox.emulator import Emulator\n"
        f"emu = Emulator.start(workdir=pathlib.Path({str(tmp_path / 'emu')!r}))\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(emu.process.pid))\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        emulator_pid = int(pid_file.read_text())
        assert _alive(emulator_pid)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        assert _wait_until_gone(emulator_pid), "the emulator outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()


def test_the_child_is_the_program_itself_once_started(tmp_path):
    """The die-with-parent launcher exec()s the program: same pid, same command line, no wrapper left running."""
    process = ManagedProcess("sleeper", ["sleep", "300"], log_path=tmp_path / "sleep.log")
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")[0] != b"sleep":
            assert process.running() and time.monotonic() < deadline, process.log_tail()
            time.sleep(0.05)
        assert Path(f"/proc/{process.pid}/cmdline").read_bytes() == b"sleep\x00300\x00"
        assert os.getpgid(process.pid) == process.pid  # its own process group, stopped as a whole
    finally:
        process.stop(grace_seconds=2)
    assert _wait_until_gone(process.pid)


def test_a_missing_program_is_a_file_not_found_error_in_the_caller(tmp_path):
    """As with a plain Popen: the sandbox CLI turns it into one line naming what to install."""
    with pytest.raises(FileNotFoundError, match="no-such-program-ml-clusters"):
        ManagedProcess("missing", ["no-such-program-ml-clusters"], log_path=tmp_path / "missing.log")
