"""`ml-clusters sandbox`, as `make demo` runs it, looked at in headless Chromium as a person would.

One sandbox for the module: the real command (emulator seeded from the live tree, `dagster dev` with its
daemon), waited on until its first sensor round is complete. Then the pages a person would open, and at
the end Ctrl-C (SIGINT), after which nothing it started may be left running.

Chromium is Debian's (`apt-get install chromium`), driven by Playwright — never a downloaded browser.
Screenshots go to tests/artifacts/screenshots/, or to $ML_CLUSTERS_SCREENSHOTS (the README's images are
made with ML_CLUSTERS_SCREENSHOTS=docs/screenshots).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ml_clusters.estate import default_live_dir, load_estate

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_LINE = "first sensor round complete"
START_TIMEOUT = 480.0  # generous: two cores shared with the rest of the suite
UI_TIMEOUT_MS = 90_000

LAGGING_REPLICA = "secondary-account/us-west-2/s3-data-replica"
CROSS_ACCOUNT_SOURCE = "main-account/us-east-1/s3-central-data"
CAPACITY_UNIT = "main-account/us-east-1/capacity-block"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
        children.setdefault(int(fields["PPid"]), []).append(int(fields["Pid"]))
    found, frontier = set(), [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class SandboxCommand:
    """`ml-clusters sandbox` in the background; its output collected line by line."""

    def __init__(self, home: Path, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from ml_clusters.cli import app; app(prog_name='ml-clusters')",
                "sandbox",
                "--port",
                str(port),
                "--home",
                str(home),
                "--timeout",
                str(START_TIMEOUT),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
            start_new_session=True,  # the test's own Ctrl-C must not reach it; we send it ourselves
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT + 60
        while not any(READY_LINE in line for line in self.lines):
            if self.process.poll() is not None:
                self._reader.join(5)
                pytest.fail(f"ml-clusters sandbox exited with {self.process.returncode}:\n{self.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"ml-clusters sandbox was not ready within {START_TIMEOUT + 60:.0f}s:\n{self.output}")
            time.sleep(0.5)

    def interrupt(self, timeout: float = 120.0) -> int:
        os.kill(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise


@pytest.fixture
def sandbox(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed: apt-get install -y chromium (the browser test never downloads a browser)"
        )
    command = SandboxCommand(tmp_path / "home", _free_port())
    try:
        command.wait_ready()
        yield command
    finally:
        if command.process.poll() is None:
            command.interrupt()


def _screenshot(page, name: str) -> None:
    folder = Path(os.environ.get("ML_CLUSTERS_SCREENSHOTS") or REPO / "tests" / "artifacts" / "screenshots")
    folder = folder if folder.is_absolute() else REPO / folder
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


def test_a_person_sees_the_estate_and_the_faults_then_ctrl_c_stops_everything(sandbox):
    """One test, one sandbox (a module fixture would start one per xdist worker): the pages in the order a
    person would open them, then Ctrl-C."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = chromium.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.set_default_navigation_timeout(UI_TIMEOUT_MS)
            catalog_lists_every_unit_of_both_accounts(sandbox, page)
            lineage_of_the_lagging_replica_crosses_accounts(sandbox, page)
            rtc_check_of_the_lagging_replica_failed_after_a_sensor_tick(sandbox, page)
            an_observation_with_numeric_replication_metadata_exists(sandbox, page)
            the_capacity_block_shows_why_it_could_not_be_observed(sandbox, page)
        finally:
            chromium.close()
    ctrl_c_stops_everything_the_sandbox_started(sandbox)


def catalog_lists_every_unit_of_both_accounts(sandbox, page) -> None:
    units = sorted(load_estate(default_live_dir()).units)
    assert {u.split("/")[0] for u in units} == {"main-account", "secondary-account"}
    page.set_viewport_size({"width": 1600, "height": 60 * len(units) + 600})  # every row rendered at once
    page.goto(f"{sandbox.url}/assets")
    for path in units:
        page.locator(f'a[href="/assets/{path}"]').first.wait_for(state="visible")
    page.set_viewport_size({"width": 1600, "height": 1000})


def lineage_of_the_lagging_replica_crosses_accounts(sandbox, page) -> None:
    page.goto(f"{sandbox.url}/assets/{LAGGING_REPLICA}?view=lineage&lineageScope=upstream")
    # Depth 1 upstream: every node shown is a direct dependency, so this node is an edge's other end.
    page.get_by_text(CROSS_ACCOUNT_SOURCE.rsplit("/", 1)[1], exact=True).first.wait_for(state="visible")
    page.get_by_text("main_account__us_east_1", exact=True).first.wait_for(state="visible")
    page.get_by_text("secondary_account__us_west_2", exact=True).first.wait_for(state="visible")
    page.wait_for_timeout(1500)  # let the graph finish its layout animation before the picture
    _screenshot(page, "sandbox-lineage")


def rtc_check_of_the_lagging_replica_failed_after_a_sensor_tick(sandbox, page) -> None:
    page.goto(f"{sandbox.url}/assets/{LAGGING_REPLICA}?view=checks")
    page.get_by_text("replication_within_rtc", exact=True).first.click()
    page.get_by_text(re.compile(r"rule\(s\) outside RTC")).first.wait_for(state="visible")
    page.get_by_text("Evaluation result").first.wait_for(state="visible")
    assert page.get_by_text("Failed", exact=True).count() >= 1
    assert page.get_by_text("max_latency_seconds", exact=True).count() >= 1
    _screenshot(page, "sandbox-replication-check")


def _observed_value(sandbox, page, asset: str, key: str) -> str | None:
    """The value of metadata `key` on one of the asset's observations (Events tab), as shown."""
    page.goto(f"{sandbox.url}/assets/{asset}?view=events")
    events = page.get_by_text(re.compile(r"^[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2} [AP]M$"))
    events.first.wait_for(state="visible")
    for index in range(events.count()):
        events.nth(index).click()
        cell = page.get_by_text(key, exact=True)
        if cell.count():
            return cell.first.locator("xpath=ancestor::tr[1]").locator("td").nth(1).inner_text().strip()
    return None


def an_observation_with_numeric_replication_metadata_exists(sandbox, page) -> None:
    value = _observed_value(sandbox, page, LAGGING_REPLICA, "replication/max_latency_seconds")
    assert value is not None, f"no observation on {LAGGING_REPLICA} carries replication/max_latency_seconds"
    assert float(value.replace(",", "")) > 900, value


def the_capacity_block_shows_why_it_could_not_be_observed(sandbox, page) -> None:
    """The emulator has no Capacity Block / Training Plan API: the UI says so, nothing is faked."""
    value = _observed_value(sandbox, page, CAPACITY_UNIT, "capacity/skipped")
    assert value is not None, f"no skipped-slice observation on {CAPACITY_UNIT}"
    assert "DescribeCapacityReservations" in value and "not supported" in value, value
    _screenshot(page, "sandbox-capacity-skipped")


def ctrl_c_stops_everything_the_sandbox_started(sandbox) -> None:
    """SIGINT, as a terminal's Ctrl-C: the emulator, dagster and all their children end."""
    started = _descendants(sandbox.process.pid)
    assert len(started) >= 3, "expected the emulator and dagster's processes"
    code = sandbox.interrupt()
    assert code == 0, sandbox.output
    assert "sandbox stopped" in sandbox.output
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in started):
        time.sleep(0.2)
    assert [pid for pid in started if _alive(pid)] == []
