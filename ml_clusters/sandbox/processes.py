"""Child processes the sandbox owns: each in its own process group, stopped as a group, never orphaned."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

# The child's first act, before it becomes the real program: ask the kernel to SIGTERM it when the sandbox
# dies (even by SIGKILL), and give up if the sandbox is already gone. This used to be a preexec_fn, but
# preexec_fn runs Python between fork and exec, which can deadlock while other threads (the metric feeder)
# hold locks; a separate interpreter that then exec()s the program is thread-safe. (Linux; elsewhere the
# orderly stop below still applies.)
_DIE_WITH_PARENT = """
import ctypes, os, signal, sys
parent = int(sys.argv[1])
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
if os.getppid() != parent:  # the sandbox died before prctl took effect
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[3:])
"""


def _launcher(args: Sequence[str], env: Mapping[str, str] | None) -> list[str]:
    """The command line that runs `args` behind the die-with-parent prologue. The program is looked up
    here, as Popen would, so a missing one is still a FileNotFoundError in the caller, not a child's exit."""
    program = args[0]
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = program if os.sep in program else shutil.which(program, path=path)
    if not found or not os.access(found, os.X_OK):
        raise FileNotFoundError(errno.ENOENT, f"No such file or directory: {program!r}", program)
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), found, *args]


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
        command = _launcher(self.args, env)
        self._log: IO[bytes] | None = open(log_path, "ab") if log_path else None
        self.popen = subprocess.Popen(
            command,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log if self._log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # setsid() done by subprocess itself, no Python code in the forked child
        )
        self.pgid = self.popen.pid  # session leader: its pid is the group id (and, after exec, the program's)

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
