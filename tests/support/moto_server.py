"""Run a real moto server (the AWS emulator) as a subprocess on loopback.

    from tests.support.moto_server import moto_server

    with moto_server() as endpoint:          # "http://127.0.0.1:<free port>"
        boto3.client("s3", endpoint_url=endpoint, ...)

`moto_server()` picks a free port, starts `python -m moto.server -H 127.0.0.1 -p PORT` with the
current interpreter, waits until the server answers, yields the endpoint URL, and stops the process
(SIGTERM, then SIGKILL) when the block exits. If the server dies or never answers, it raises
`MotoServerError` with the tail of the server's output.

`moto_server(extra_env={...})` passes settings to the server (e.g. INITIAL_NO_AUTH_ACTION_COUNT to
make it enforce IAM). `emulator_environment(endpoint)` returns the environment variables that point plain boto3 at it
(AWS_ENDPOINT_URL and dummy credentials), for subprocesses such as `dagster-daemon`.

`reset(endpoint)` wipes every account's resources (moto's /moto-api/reset), for tests that share one
server but need a clean slate.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

__all__ = ["MotoServerError", "emulator_environment", "free_port", "moto_server", "reset"]

# moto's default account: the identity of the dummy base credentials before any assume-role.
DEFAULT_ACCOUNT_ID = "123456789012"


class MotoServerError(RuntimeError):
    """The moto server did not start (or died); the message carries the tail of its output."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emulator_environment(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """Environment variables that make boto3 (and anything built on it) talk to the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        # Keep boto3 away from ~/.aws and the instance metadata service.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def reset(endpoint: str) -> None:
    """Delete every resource in every account of the running server."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextlib.contextmanager
def moto_server(startup_timeout: float = 60.0, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a moto server subprocess on a free loopback port; yield its endpoint URL.

    `extra_env` is added to the server's environment, e.g. {"INITIAL_NO_AUTH_ACTION_COUNT": "6"}
    makes moto enforce IAM after the first six requests (for access-denied scenarios).
    """
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile(mode="w+b") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(extra_env or {})},
        )

        def tail() -> str:
            output.flush()
            output.seek(0)
            return output.read().decode(errors="replace")[-2000:]

        try:
            deadline = time.monotonic() + startup_timeout
            while not _answers(endpoint):
                if process.poll() is not None:
                    raise MotoServerError(f"moto server exited with code {process.returncode}:\n{tail()}")
                if time.monotonic() > deadline:
                    raise MotoServerError(f"moto server did not answer on {endpoint} within {startup_timeout:.0f}s:\n{tail()}")
                time.sleep(0.1)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
