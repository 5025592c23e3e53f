"""Child processes the sandbox owns: each in its own process group, stopped as a group, never orphaned."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: a SIGKILLed sandbox takes its children with it.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:  # not glibc/Linux: the orderly stop below still applies
        pass


class ManagedProcess:
    """A subprocess started in a new session (so a terminal's Ctrl-C reaches only the sandbox, which then
    stops its children in order) whose whole process group is signalled on stop."""

    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
    ):
        self.name = name
        self.args = list(args)
        self.log_path = log_path
        self._log: IO[bytes] | None = open(log_path, "ab") if log_path else None
        self.popen = subprocess.Popen(
            self.args,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log if self._log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pgid = self.popen.pid  # session leader: its pid is the group id

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace_seconds: float = 10.0) -> int | None:
        """SIGINT the group (dagster shuts its own children down on it), then SIGTERM, then SIGKILL."""
        for sig, wait in ((signal.SIGINT, grace_seconds), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if not self._group_alive():
                break
            try:
                os.killpg(self.pgid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and self._group_alive():
                self.popen.poll()
                time.sleep(0.1)
        self.popen.poll()
        if self._log:
            self._log.close()
            self._log = None
        return self.popen.returncode

    def _group_alive(self) -> bool:
        self.popen.poll()  # reap the leader so it doesn't linger as a zombie member of the group
        try:
            os.killpg(self.pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
