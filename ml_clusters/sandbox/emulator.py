"""Start and talk to the sandbox's AWS emulator (moto's server in a child process on loopback)."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ml_clusters.sandbox.processes import ManagedProcess

# Credentials the emulator accepts; the sandbox never sees real ones.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class EmulatorError(RuntimeError):
    pass


def emulator_environment(url: str, region: str = "us-east-1") -> dict[str, str]:
    """Environment that points every boto3 client (and Terraform's AWS provider) at the emulator."""
    return {
        **DUMMY_CREDENTIALS,
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        # no profile from ~/.aws may override the emulator's dummy credentials
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


class Emulator:
    """A running moto server. `with Emulator.start() as emu: emu.url`."""

    def __init__(self, process: ManagedProcess, url: str, workdir: Path):
        self.process = process
        self.url = url
        self.workdir = workdir

    @classmethod
    def start(
        cls,
        workdir: Path | None = None,
        host: str = "127.0.0.1",
        timeout: float = 60.0,
        extra_env: dict[str, str] | None = None,
    ) -> Emulator:
        """`extra_env` reaches moto, e.g. {"INITIAL_NO_AUTH_ACTION_COUNT": "6"} to enforce IAM."""
        workdir = Path(workdir or tempfile.mkdtemp(prefix="ml-clusters-emulator-"))
        workdir.mkdir(parents=True, exist_ok=True)
        ready = workdir / "emulator.ready.json"
        ready.unlink(missing_ok=True)
        process = ManagedProcess(
            "aws-emulator",
            [sys.executable, "-m", "ml_clusters.sandbox.emulator_server", "--host", host, "--ready-file", str(ready)],
            log_path=workdir / "emulator.log",
            env={**os.environ, **extra_env} if extra_env else None,
        )
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if not process.running():
                raise EmulatorError(f"the AWS emulator (moto server) exited at start: {process.log_tail(5)}")
            if time.monotonic() > deadline:
                process.stop()
                raise EmulatorError(f"the AWS emulator (moto server) did not start within {timeout:.0f}s")
            time.sleep(0.05)
        url = json.loads(ready.read_text())["url"]
        return cls(process, url, workdir)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.process.stop(grace_seconds=5.0)

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        return emulator_environment(self.url, region)

    def set_state(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Set a state AWS's API cannot (see emulator_server); raises EmulatorError on a missing resource."""
        request = urllib.request.Request(
            f"{self.url}/ml-clusters-sandbox/state",
            data=json.dumps({"kind": kind, **fields}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise EmulatorError(json.loads(error.read() or b"{}").get("error", str(error))) from None

    def rss_bytes(self) -> int:
        """Resident memory of the emulator process."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0
