"""`TerragruntCli`: runs the terragrunt binary for one unit, streaming its output, with faults handled.

Command lines follow the Terragrunt >= 1.0 contract exactly (absolute `--working-dir`, `run -- <tofu
command>`, absolute plan paths because tofu runs inside `.terragrunt-cache`). The resource knows
nothing of the asset graph: it runs one command for one unit directory and returns a structured
result, or raises an error whose message is one readable paragraph.

Each process runs in its own process group so that a cancel reaches terragrunt *and* the tofu and
provider processes beneath it: SIGINT first (tofu then releases the state lock), SIGKILL only after a
bounded grace period, and nothing is left running when a call returns.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import dagster as dg
from pydantic import Field, field_validator

INSTALL_HINT = "install Terragrunt >= 1.0 and OpenTofu >= 1.10"
STDERR_TAIL_LINES = 20

# (stream, line) → None; stream is "stdout" or "stderr". Called from reader threads.
LineSink = Callable[[str, str], None]


class TerragruntError(Exception):
    """A terragrunt invocation that did not succeed. `str()` is the user-facing explanation."""


class TerragruntNotFound(TerragruntError):
    pass


class TerragruntCommandFailed(TerragruntError):
    def __init__(self, command: str, exit_code: int | None, stderr_tail: tuple[str, ...], why: str = ""):
        self.command = command
        self.exit_code = exit_code
        self.stderr_tail = stderr_tail
        headline = why or f"`{command}` exited with code {exit_code}"
        tail = "\n".join(stderr_tail)
        super().__init__(f"{headline}\nlast lines of stderr:\n{tail}" if tail else headline)


class StateLockHeld(TerragruntCommandFailed):
    """Tofu could not acquire the state lock within -lock-timeout."""

    def __init__(self, command: str, exit_code: int | None, stderr_tail: tuple[str, ...], lock_info: Mapping[str, str]):
        self.lock_info = dict(lock_info)
        self.attempts = 1
        super().__init__(command, exit_code, stderr_tail)

    def __str__(self) -> str:
        info = "\n".join(f"  {k}: {v}" for k, v in self.lock_info.items())
        tries = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return f"the state lock is held by another operation (`{self.command}`{tries}).\nLock Info:\n{info}"


class TerragruntTimedOut(TerragruntCommandFailed):
    pass


class TerragruntCancelled(TerragruntCommandFailed):
    pass


class StalePlan(TerragruntCommandFailed):
    """Tofu refused a saved plan because the state changed after it was made."""


@dataclass(frozen=True)
class Control:
    """How a caller stops a running command: a cancel flag and an absolute deadline (time.monotonic)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None
    timeout_seconds: float | None = None  # only to word the timeout error


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str  # only kept for the JSON commands (`show -json`, `output -json`)
    stderr_tail: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class PlanRun:
    plan_file: Path
    has_changes: bool  # -detailed-exitcode 2
    result: CommandResult


@dataclass(frozen=True)
class OutputValue:
    sensitive: bool
    type: Any
    value: Any = field(repr=False)

    def display(self) -> Any:
        """The value as it may be shown in logs and metadata."""
        return "(sensitive)" if self.sensitive else self.value


_LOCK_ERROR = "Error acquiring the state lock"
_LOCK_FIELD = re.compile(r"\b(ID|Path|Operation|Who|Version|Created|Info):\s*(.*?)\s*$")
_STALE_PLAN = "Saved plan is stale"


def parse_lock_info(lines: list[str] | tuple[str, ...]) -> dict[str, str] | None:
    """The `Lock Info:` block of a lock error, or None when the output is not a lock error.

    Tolerates terragrunt's line prefixes and tofu's box-drawing margins.
    """
    if not any(_LOCK_ERROR in line for line in lines):
        return None
    info: dict[str, str] = {}
    in_block = False
    for line in lines:
        if "Lock Info:" in line:
            in_block = True
            continue
        if in_block:
            match = _LOCK_FIELD.search(line)
            if match:
                info.setdefault(match.group(1), match.group(2))
            elif info:
                break
    return info


def parse_duration(text: str) -> float:
    """Go-style duration as tofu takes it for -lock-timeout: "0s", "90s", "5m", "1h"."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 5m)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(2) or "s"]
    return float(match.group(1)) * scale


class TerragruntCli(dg.ConfigurableResource):
    """Runs `terragrunt` (>= 1.0, driving OpenTofu >= 1.10) for one unit at a time."""

    binary: str | None = Field(
        default=None,
        description="terragrunt executable; default $ML_CLUSTERS_TERRAGRUNT, else `terragrunt` on PATH.",
    )
    tf_path: str | None = Field(
        default=None, description="passed as --tf-path; default $ML_CLUSTERS_TF_PATH (terragrunt's own default: tofu)."
    )
    lock_timeout: str = Field(default="5m", description="-lock-timeout for plan (tofu waits this long for a held state lock).")
    lock_retries: int = Field(
        default=3, ge=0, description="times a plan/apply is retried after the state lock stayed held."
    )
    lock_retry_backoff_seconds: float = Field(
        default=30.0, ge=0, description="first wait before retrying a held lock; doubles each retry."
    )
    interrupt_grace_seconds: float = Field(
        default=90.0,
        ge=0,
        description="after SIGINT, time a plan/output/show gets to stop (terragrunt forwards the signal to tofu "
        "after up to 15 s; tofu then releases the state lock) before SIGKILL.",
    )
    apply_interrupt_grace_seconds: float = Field(
        default=1800.0,
        ge=0,
        description="the same for apply: tofu waits for the resource operations in flight (an EKS cluster or an "
        "FSx file system takes many minutes) and writes them to state; SIGKILL earlier loses them from state.",
    )
    # Values given here in code or in run config are stored by Dagster (job snapshot, run config) and
    # shown in the UI: never a secret. Secrets stay in the environment of the process running the
    # step (terragrunt inherits all of it) or come in as dg.EnvVar("NAME"), which Dagster stores by
    # name and resolves at run time. Values are never logged, and kept out of the resource's repr.
    extra_env: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description=(
            "extra environment for terragrunt, e.g. TF_LOG or TG_PROVIDER_CACHE. Stored and shown by Dagster: "
            'no secrets (terragrunt inherits the process environment; or use dg.EnvVar("NAME")).'
        ),
    )

    @field_validator("lock_timeout")
    @classmethod
    def _lock_timeout_is_a_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    # ------------------------------------------------------------------ binary and command lines

    def executable(self) -> str:
        """Absolute path of the terragrunt binary; raises TerragruntNotFound naming what to install."""
        name = self.binary or os.environ.get("ML_CLUSTERS_TERRAGRUNT") or "terragrunt"
        found = shutil.which(name)
        if not found:
            raise TerragruntNotFound(
                f"terragrunt executable {name!r} not found (set ML_CLUSTERS_TERRAGRUNT or put it on PATH): "
                f"{INSTALL_HINT} to run units"
            )
        tf_path = self.resolved_tf_path()
        if tf_path and not shutil.which(tf_path):
            raise TerragruntNotFound(
                f"OpenTofu executable {tf_path!r} (ML_CLUSTERS_TF_PATH / tf_path) not found: {INSTALL_HINT}"
            )
        return found

    def resolved_tf_path(self) -> str | None:
        return self.tf_path or os.environ.get("ML_CLUSTERS_TF_PATH") or None

    def command(self, unit_dir: Path, tf_args: list[str]) -> list[str]:
        """`terragrunt --working-dir ABS --non-interactive [--tf-path P] run -- <tofu args>`.

        --non-interactive on every command: terragrunt may otherwise stop to ask (e.g. to create the
        state bucket) and a run would hang with nobody to answer.
        """
        unit_dir = Path(unit_dir)
        if not unit_dir.is_absolute():
            raise ValueError(f"unit directory must be absolute: {unit_dir}")
        args = [self.executable(), "--working-dir", str(unit_dir), "--non-interactive"]
        tf_path = self.resolved_tf_path()
        if tf_path:
            args += ["--tf-path", tf_path]
        return args + ["run", "--", *tf_args]

    # ------------------------------------------------------------------ the commands

    def plan(self, unit_dir: Path, plan_file: Path, *, on_line: LineSink | None = None, control: Control | None = None) -> PlanRun:
        """`plan -detailed-exitcode -out=<abs>`; retried while the state lock is held."""
        plan_file = _absolute(plan_file)
        args = self.command(
            unit_dir,
            ["plan", "-input=false", f"-lock-timeout={self.lock_timeout}", "-detailed-exitcode", f"-out={plan_file}"],
        )
        result = self._with_lock_retries(args, unit_dir, on_line, control, ok_codes=(0, 2))
        return PlanRun(plan_file=plan_file, has_changes=result.exit_code == 2, result=result)

    def show_plan(self, unit_dir: Path, plan_file: Path, *, control: Control | None = None) -> dict[str, Any]:
        """`show -json <plan>`: the plan as JSON. Never streamed (it holds sensitive values)."""
        args = self.command(unit_dir, ["show", "-json", str(_absolute(plan_file))])
        result = self.run(args, unit_dir, on_line=None, control=control, capture_stdout=True)
        return _json_document(result, "show -json")

    def apply(self, unit_dir: Path, plan_file: Path, *, on_line: LineSink | None = None, control: Control | None = None) -> CommandResult:
        """`apply -input=false <saved plan>`; retried while the state lock is held."""
        args = self.command(unit_dir, ["apply", "-input=false", str(_absolute(plan_file))])
        return self._with_lock_retries(
            args, unit_dir, on_line, control, ok_codes=(0,), grace_seconds=self.apply_interrupt_grace_seconds
        )

    def outputs(self, unit_dir: Path, *, control: Control | None = None) -> dict[str, OutputValue]:
        """`output -json`. Never streamed: sensitive values are in it."""
        args = self.command(unit_dir, ["output", "-json"])
        result = self.run(args, unit_dir, on_line=None, control=control, capture_stdout=True)
        doc = _json_document(result, "output -json")
        return {
            name: OutputValue(sensitive=bool(o.get("sensitive")), type=o.get("type"), value=o.get("value"))
            for name, o in doc.items()
        }

    # ------------------------------------------------------------------ process handling

    def _with_lock_retries(self, args, unit_dir, on_line, control, ok_codes, grace_seconds=None) -> CommandResult:
        control = control or Control()
        backoff = self.lock_retry_backoff_seconds
        for attempt in range(self.lock_retries + 1):
            try:
                return self.run(
                    args, unit_dir, on_line=on_line, control=control, ok_codes=ok_codes, grace_seconds=grace_seconds
                )
            except StateLockHeld as held:
                if attempt == self.lock_retries:
                    held.attempts = attempt + 1
                    raise
                if on_line:
                    on_line("stderr", f"[ml-clusters] state lock held; retry {attempt + 1}/{self.lock_retries} in {backoff:g}s")
                if control.cancel.wait(_bounded(backoff, control)):
                    raise TerragruntCancelled(_describe(args), None, held.stderr_tail, "cancelled while waiting for the state lock") from None
                if control.deadline is not None and time.monotonic() >= control.deadline:
                    raise TerragruntTimedOut(
                        _describe(args), None, held.stderr_tail, _timeout_reason(control, "waiting for the state lock")
                    ) from None
                backoff *= 2
        raise AssertionError("unreachable")

    def run(
        self,
        args: list[str],
        unit_dir: Path,
        *,
        on_line: LineSink | None,
        control: Control | None = None,
        capture_stdout: bool = False,
        ok_codes: tuple[int, ...] = (0,),
        grace_seconds: float | None = None,
    ) -> CommandResult:
        """Run one terragrunt process to completion, cancellation or deadline; no process outlives it."""
        control = control or Control()
        grace = self.interrupt_grace_seconds if grace_seconds is None else grace_seconds
        if control.cancel.is_set():
            raise TerragruntCancelled(_describe(args), None, (), "cancelled before it started")
        env = {**os.environ, **self.extra_env, "TG_NON_INTERACTIVE": "true"}
        started = time.monotonic()
        proc = subprocess.Popen(
            args,
            cwd=str(unit_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            bufsize=1,
            # Own process group: a Ctrl-C in the user's terminal reaches only Dagster, which
            # forwards it deliberately (see _stop), and a SIGKILL can take the whole group.
            start_new_session=True,
        )
        stdout_lines: list[str] = []
        stderr_tail: collections.deque[str] = collections.deque(maxlen=200)

        def pump(stream, name: str) -> None:
            for raw in stream:
                line = raw.rstrip("\n")
                if name == "stdout" and capture_stdout:
                    stdout_lines.append(line)  # JSON with sensitive values: kept, never streamed
                    continue
                if name == "stderr":
                    stderr_tail.append(line)
                if on_line:
                    on_line(name, line)
            stream.close()

        readers = [
            threading.Thread(target=pump, args=(proc.stdout, "stdout"), daemon=True),
            threading.Thread(target=pump, args=(proc.stderr, "stderr"), daemon=True),
        ]
        for reader in readers:
            reader.start()

        stopped_because: str | None = None
        try:
            while True:
                # Joining the stdout reader wakes up the moment the process closes its output
                # (Popen.wait(timeout) would poll); cancel and deadline are checked in between.
                readers[0].join(timeout=0.1)
                if not readers[0].is_alive() and proc.poll() is None:
                    try:
                        proc.wait(timeout=0.1)
                    except subprocess.TimeoutExpired:
                        pass
                if proc.poll() is not None:
                    break
                if control.cancel.is_set():
                    stopped_because = "cancelled"
                elif control.deadline is not None and time.monotonic() >= control.deadline:
                    stopped_because = "timeout"
                if stopped_because:
                    self._stop(proc, on_line, grace)
                    break
        except BaseException:
            # Interrupted while waiting (e.g. the run was terminated): never leave the group running.
            self._stop(proc, on_line, grace)
            raise
        finally:
            _reap_group(proc.pid)
            for reader in readers:
                reader.join(timeout=5)

        tail = tuple(list(stderr_tail)[-STDERR_TAIL_LINES:])
        described = _describe(args)
        if stopped_because == "cancelled":
            raise TerragruntCancelled(described, proc.returncode, tail, f"`{described}` was cancelled (SIGINT sent to terragrunt)")
        if stopped_because == "timeout":
            raise TerragruntTimedOut(described, proc.returncode, tail, _timeout_reason(control, f"`{described}`"))
        if proc.returncode not in ok_codes:
            lock_info = parse_lock_info(list(stderr_tail))
            if lock_info is not None:
                raise StateLockHeld(described, proc.returncode, tail, lock_info)
            if any(_STALE_PLAN in line for line in stderr_tail):
                raise StalePlan(described, proc.returncode, tail, f"`{described}`: the saved plan is stale")
            raise TerragruntCommandFailed(described, proc.returncode, tail)
        return CommandResult(
            args=tuple(args),
            exit_code=proc.returncode,
            stdout="\n".join(stdout_lines),
            stderr_tail=tail,
            seconds=time.monotonic() - started,
        )

    def _stop(self, proc: subprocess.Popen, on_line: LineSink | None, grace: float) -> None:
        """SIGINT terragrunt alone, wait up to `grace`, then SIGKILL the whole group.

        Not the group: terragrunt forwards a SIGINT to tofu itself (after a delay of up to 15 s meant
        for a terminal's Ctrl-C, which reaches both), so a group-wide SIGINT would reach a slow-stopping
        tofu twice, and a second interrupt makes tofu exit at once ("data loss may have occurred").
        """
        if proc.poll() is not None:
            return
        if on_line:
            on_line(
                "stderr",
                f"[ml-clusters] sending SIGINT to terragrunt (pid {proc.pid}); it passes it on to OpenTofu, which "
                f"finishes what is in flight and releases the state lock (waiting up to {grace:g}s before SIGKILL)",
            )
        try:
            os.kill(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            if on_line:
                on_line("stderr", f"[ml-clusters] no exit after {grace:g}s; sending SIGKILL to terragrunt's process group")
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap_group(pgid: int) -> None:
    """Kill whatever is left in the process group after its leader exited (e.g. a stuck provider)."""
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return
    _signal_group(pgid, signal.SIGKILL)


def _bounded(seconds: float, control: Control) -> float:
    if control.deadline is None:
        return seconds
    return max(0.0, min(seconds, control.deadline - time.monotonic()))


def _timeout_reason(control: Control, what: str) -> str:
    limit = f" of {control.timeout_seconds:g}s" if control.timeout_seconds else ""
    return f"{what} hit the unit timeout{limit}; stopped with SIGINT"


def _absolute(path: Path) -> Path:
    path = Path(path)
    if not path.is_absolute():
        raise ValueError(f"plan paths must be absolute (tofu runs inside .terragrunt-cache): {path}")
    return path


def _describe(args: list[str] | tuple[str, ...]) -> str:
    """`terragrunt run -- plan` etc., without the long absolute paths."""
    if "--" in args:
        i = list(args).index("--")
        tf = [a for a in args[i + 1 :] if not a.startswith("/") and not a.startswith("-out=")]
        return "terragrunt run -- " + " ".join(tf[:2])
    return "terragrunt " + " ".join(args[1:3])


def _json_document(result: CommandResult, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(result.stdout)
    except json.JSONDecodeError as e:
        # Don't echo stdout: it may hold sensitive values.
        raise TerragruntCommandFailed(what, result.exit_code, result.stderr_tail, f"`{what}` did not print JSON ({e.msg})") from None
    if not isinstance(doc, dict):
        raise TerragruntCommandFailed(what, result.exit_code, result.stderr_tail, f"`{what}` printed {type(doc).__name__}, expected an object")
    return doc
