"""Run the selected units in dependency order, independent ones in parallel, reporting as they finish.

Knows the estate's graph, not Terragrunt: each unit is handed to a callable on a worker thread. The
caller consumes a stream of events on its own thread, which is where Dagster events are emitted, so
nothing Dagster-related ever runs on a worker thread.

Scheduling is graphlib's TopologicalSorter ready-queue over the *selected* units. Ordering edges
pass through unselected units (select A and C of A → B → C, and C still waits for A). A unit whose
upstream failed, was skipped or was cancelled is skipped with the cause; other branches go on.
Completion order is a topological order, which is what Dagster requires of a multi_asset's yields.
"""

from __future__ import annotations

import graphlib
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Union

from ml_clusters.estate import Estate, Unit


@dataclass(frozen=True)
class UnitContext:
    """What a unit's callable gets: the unit, a line logger, and how to know when to stop."""

    unit: Unit
    log: Callable[[str, str], None]  # (stream, line), thread-safe
    cancel: threading.Event
    deadline: float | None  # time.monotonic() by which the unit must be done
    timeout_seconds: float | None


@dataclass(frozen=True)
class UnitStarted:
    path: str
    at: float  # epoch seconds


@dataclass(frozen=True)
class UnitLog:
    path: str
    stream: str
    line: str


@dataclass(frozen=True)
class LogLines:
    """Log lines that were waiting together, possibly from several units, in arrival order."""

    lines: tuple[UnitLog, ...]


@dataclass(frozen=True)
class UnitSucceeded:
    path: str
    result: Any
    seconds: float


@dataclass(frozen=True)
class UnitFailed:
    path: str
    error: BaseException
    seconds: float


@dataclass(frozen=True)
class UnitSkipped:
    path: str
    cause: str


UnitEvent = Union[UnitStarted, LogLines, UnitSucceeded, UnitFailed, UnitSkipped]


def selection_graph(estate: Estate, selected: Iterable[str]) -> dict[str, set[str]]:
    """{selected unit: the selected units it must wait for}, edges followed through unselected units."""
    chosen = set(selected)
    unknown = sorted(p for p in chosen if p not in estate.units)
    if unknown:
        raise ValueError(f"not units of the estate under {estate.root}: {', '.join(unknown)}")
    # One pass in topological order: a unit's dependencies are always settled before the unit.
    nearest: dict[str, set[str]] = {}  # unselected unit → its nearest selected ancestors
    graph: dict[str, set[str]] = {}
    for path in estate.topological_order:
        waits_for: set[str] = set()
        for dep in estate.units[path].depends_on:
            waits_for |= {dep} if dep in chosen else nearest[dep]
        (graph if path in chosen else nearest)[path] = waits_for
    return graph


def execute_units(
    estate: Estate,
    selected: Iterable[str],
    run_unit: Callable[[UnitContext], Any],
    *,
    parallelism: int,
    unit_timeout_seconds: float | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[UnitEvent]:
    """Run `run_unit` for every selected unit; yield events as they happen.

    Dependents are released by the worker that finishes a unit, not by the consumer: a consumer
    busy recording events (each a database write in Dagster) never delays the next unit. A unit's
    finish event is queued before its dependents are even submitted, so the queue's order is a
    topological order.

    Closing the generator (or an exception inside it, e.g. the run being terminated) sets `cancel`
    and waits for the running units to stop; callables must honour `UnitContext.cancel`.
    """
    if parallelism < 1:
        raise ValueError("parallelism must be at least 1")
    graph = selection_graph(estate, selected)
    cancel = cancel or threading.Event()
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()
    events: queue.Queue = queue.Queue()  # UnitStarted, UnitLog, UnitSucceeded, UnitFailed, UnitSkipped
    status: dict[str, str] = {}  # path → succeeded | failed | skipped
    root_cause: dict[str, str] = {}  # failed/skipped path → the failed unit it traces back to
    lock = threading.Lock()  # guards sorter, status, root_cause
    pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="terragrunt-unit")

    def release(finished: str | None, outcome: str | None) -> None:
        """Mark `finished` done and start (or skip) every unit that became ready. Call with `lock` held."""
        if finished is not None:
            status[finished] = outcome  # type: ignore[assignment]
            sorter.done(finished)
        ready = list(sorter.get_ready())
        while ready:
            path = ready.pop(0)
            blocked = sorted(d for d in graph[path] if status[d] != "succeeded")
            if blocked or cancel.is_set():
                status[path] = "skipped"
                if blocked:
                    origin = root_cause.get(blocked[0], blocked[0])
                    root_cause[path] = origin
                    why = f"upstream {blocked[0]} {status[blocked[0]]}"
                    if origin != blocked[0]:
                        why += f" (because {origin} failed)"
                else:
                    why = "the run was cancelled before it started"
                events.put(UnitSkipped(path, why))
                sorter.done(path)
                ready += sorter.get_ready()
                continue
            try:
                pool.submit(work, path)
            except RuntimeError:  # the pool is shutting down: the run is being cancelled
                status[path] = "skipped"
                events.put(UnitSkipped(path, "the run was cancelled before it started"))
                sorter.done(path)
                ready += sorter.get_ready()

    def work(path: str) -> None:
        started = time.monotonic()
        events.put(UnitStarted(path, time.time()))
        context = UnitContext(
            unit=estate.units[path],
            log=lambda stream, line: events.put(UnitLog(path, stream, line)),
            cancel=cancel,
            deadline=started + unit_timeout_seconds if unit_timeout_seconds else None,
            timeout_seconds=unit_timeout_seconds,
        )
        try:
            result = run_unit(context)
        except BaseException as error:  # noqa: BLE001 - reported as the unit's failure
            finished: UnitEvent = UnitFailed(path, error, time.monotonic() - started)
        else:
            finished = UnitSucceeded(path, result, time.monotonic() - started)
        with lock:
            events.put(finished)
            release(path, "succeeded" if isinstance(finished, UnitSucceeded) else "failed")

    remaining = len(graph)
    held: list[UnitEvent] = []  # an event taken from the queue while coalescing log lines
    try:
        with lock:
            release(None, None)
        while remaining:
            event = held.pop() if held else _next_event(events)
            if isinstance(event, UnitLog):
                event = _coalesce(event, events, held)
            if isinstance(event, (UnitSucceeded, UnitFailed, UnitSkipped)):
                remaining -= 1
            yield event
    finally:
        if remaining:
            cancel.set()
        pool.shutdown(wait=True, cancel_futures=True)


def _coalesce(first: UnitLog, events: queue.Queue, held: list, limit: int = 500) -> LogLines:
    """Gather the log lines already waiting behind `first` into one event.

    Each event the consumer records is a database write; when it falls behind, fewer and larger
    log events let it catch up, while lines still appear as soon as it gets to them.
    """
    lines = [first]
    while len(lines) < limit:
        try:
            nxt = events.get_nowait()
        except queue.Empty:
            break
        if isinstance(nxt, UnitLog):
            lines.append(nxt)
            continue
        held.append(nxt)
        break
    return LogLines(tuple(lines))


def _next_event(events: queue.Queue) -> UnitEvent:
    # A short timeout keeps the consuming thread responsive to interrupts (run termination).
    while True:
        try:
            return events.get(timeout=0.2)
        except queue.Empty:
            continue


@dataclass
class RunReport:
    """What happened to each unit, for the final verdict of the step."""

    succeeded: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # path → one-paragraph error
    skipped: dict[str, str] = field(default_factory=dict)  # path → cause

    def record(self, event: UnitEvent) -> None:
        if isinstance(event, UnitSucceeded):
            self.succeeded.append(event.path)
        elif isinstance(event, UnitFailed):
            self.failed[event.path] = str(event.error) or type(event.error).__name__
        elif isinstance(event, UnitSkipped):
            self.skipped[event.path] = event.cause

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped

    def failure_message(self) -> str:
        lines = [
            f"{len(self.failed)} unit(s) failed, {len(self.skipped)} skipped, {len(self.succeeded)} succeeded."
        ]
        for path, error in self.failed.items():
            first, *rest = error.splitlines() or [""]
            lines.append(f"FAILED  {path}: {first}")
            lines += [f"        {line}" for line in rest]
        for path, cause in self.skipped.items():
            lines.append(f"SKIPPED {path}: {cause}")
        return "\n".join(lines)
