"""How fast `make demo` (`ml-clusters sandbox`) is useful, and what the emulator costs. Median of N runs.

    .venv/bin/python benchmarks/sandbox_start.py [--runs 3]

Per run, from launching the command (a fresh process, as `make demo` does) to:
  seeded      the emulator is up and seeded from the live tree, faults injected
  ui ready    the Dagster UI answers with the ml_clusters code location loaded
  sensors     every sensor has finished its first tick (the daemon's first complete round)
and the emulator's resident memory once the first round is done (VmRSS; VmHWM = its peak). Each run
is stopped with SIGINT, as Ctrl-C would. Printed side by side with the 2-minute budget of the issue.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 120.0
MARKERS = {
    "seeded": re.compile(r"^AWS emulator at "),
    "ui ready": re.compile(r"^UI ready at "),
    "sensors": re.compile(r"^first sensor round complete"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def one_run(timeout: float) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="ml-clusters-sandbox-bench-")) / "home"
    started = time.monotonic()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from ml_clusters.cli import app; app(prog_name='ml-clusters')",
            "sandbox",
            "--port",
            str(free_port()),
            "--home",
            str(home),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        start_new_session=True,
    )
    seen: dict[str, float] = {}
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip())
            for name, pattern in MARKERS.items():
                if name not in seen and pattern.search(line):
                    seen[name] = time.monotonic() - started

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = started + timeout
        while "sensors" not in seen:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("sandbox did not complete a sensor round:\n" + "\n".join(lines[-30:]))
            time.sleep(0.2)
        emulator_pid = json.loads((home / "emulator" / "emulator.ready.json").read_text())["pid"]
        memory = memory_kib(emulator_pid)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        reader.join(5)
    return {**seen, "emulator rss MiB": memory["VmRSS"] / 1024, "emulator peak MiB": memory["VmHWM"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    runs = []
    for index in range(args.runs):
        result = one_run(args.timeout)
        runs.append(result)
        print(f"run {index + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in result.items()), flush=True)

    print(f"\n{'measure':<20}{'median':>10}{'min':>10}{'max':>10}{'vs 120 s budget':>18}")
    for name in runs[0]:
        values = [r[name] for r in runs]
        median = statistics.median(values)
        ratio = f"{median / BUDGET_SECONDS:>17.0%}" if name in MARKERS else f"{'':>17}"
        unit = "s" if name in MARKERS else ""
        print(
            f"{name:<20}{median:>9.1f}{unit or ' '}{min(values):>9.1f}{unit or ' '}{max(values):>9.1f}{unit or ' '} {ratio}"
        )


if __name__ == "__main__":
    main()
