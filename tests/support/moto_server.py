"""Run a real moto server (the AWS emulator) as a subprocess on loopback.

    from tests.support.moto_server import moto_server

    with moto_server() as endpoint:          # "http://127.0.0.1:<free port>"
        boto3.client("s3", endpoint_url=endpoint, ...)

`moto_server()` starts the product's own emulator launcher (`ml_clusters.sandbox.emulator.Emulator`:
moto's server on a free loopback port, in its own process group, dying with its parent), yields the
endpoint URL and stops it when the block exits. If the server dies or never answers, it raises
`MotoServerError` with the reason.

`moto_server(extra_env={...})` passes settings to the server (e.g. INITIAL_NO_AUTH_ACTION_COUNT to
make it enforce IAM). `emulator_environment(endpoint)` returns the environment variables that point plain boto3 at it
(AWS_ENDPOINT_URL and dummy credentials), for subprocesses such as `dagster-daemon`.

`reset(endpoint)` wipes every account's resources (moto's /moto-api/reset), for tests that share one
server but need a clean slate.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import urllib.request
from collections.abc import Iterator

from ml_clusters.sandbox.emulator import Emulator, EmulatorError, emulator_environment

__all__ = ["MotoServerError", "emulator_environment", "free_port", "moto_server", "reset"]

# moto's default account: the identity of the dummy base credentials before any assume-role.
DEFAULT_ACCOUNT_ID = "123456789012"


class MotoServerError(RuntimeError):
    """The moto server did not start (or died); the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset(endpoint: str) -> None:
    """Delete every resource in every account of the running server."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=10):
        pass


@contextlib.contextmanager
def moto_server(startup_timeout: float = 60.0, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start the emulator on a free loopback port; yield its endpoint URL.

    `extra_env` is added to the server's environment, e.g. {"INITIAL_NO_AUTH_ACTION_COUNT": "6"}
    makes moto enforce IAM after the first six requests (for access-denied scenarios).
    """
    with tempfile.TemporaryDirectory(prefix="moto-server-") as workdir:
        try:
            emulator = Emulator.start(workdir, timeout=startup_timeout, extra_env=extra_env)
        except EmulatorError as error:
            raise MotoServerError(str(error)) from None
        with emulator:
            yield emulator.url
