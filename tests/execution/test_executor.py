"""The executor on its own: dependency order, bounded parallelism, skips, cancellation (no terragrunt)."""

from __future__ import annotations

import threading
import time

import pytest

from ml_clusters.execution.executor import (
    LogLines,
    RunReport,
    UnitSkipped,
    UnitStarted,
    UnitSucceeded,
    execute_units,
    selection_graph,
)

NET_E, KMS, STORAGE, CLUSTER = "acme/us-east-1/networking", "acme/us-east-1/kms", "acme/us-east-1/storage", "acme/us-east-1/cluster"
NET_W, REPLICA = "acme/us-west-2/networking", "acme/us-west-2/replica"


class Recorder:
    """A unit callable that records start/finish order and the peak number running at once."""

    def __init__(self, fail: set[str] = frozenset(), gate: threading.Barrier | None = None):
        self.fail, self.gate = fail, gate
        self.lock = threading.Lock()
        self.order: list[tuple[str, str]] = []
        self.running = 0
        self.peak = 0

    def __call__(self, ctx):
        with self.lock:
            self.order.append(("start", ctx.unit.path))
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            ctx.log("stdout", f"hello from {ctx.unit.path}")
            if self.gate is not None:
                self.gate.wait(timeout=10)
            if ctx.unit.path in self.fail:
                raise RuntimeError(f"boom in {ctx.unit.path}")
            return ctx.unit.path.upper()
        finally:
            with self.lock:
                self.running -= 1
                self.order.append(("end", ctx.unit.path))


def test_units_start_only_after_their_dependencies_finish(small_estate):
    recorder = Recorder()
    events = list(execute_units(small_estate, small_estate.units, recorder, parallelism=4))
    position = {entry: i for i, entry in enumerate(recorder.order)}
    for dependent, dependency in small_estate.edges:
        assert position[("end", dependency)] < position[("start", dependent)], (dependent, dependency)
    finished = [e.path for e in events if isinstance(e, UnitSucceeded)]
    assert sorted(finished) == sorted(small_estate.units)
    assert {e.result for e in events if isinstance(e, UnitSucceeded)} == {p.upper() for p in small_estate.units}
    logged = [(line.path, line.line) for e in events if isinstance(e, LogLines) for line in e.lines]
    assert (KMS, f"hello from {KMS}") in logged


def test_independent_units_run_together(small_estate):
    # The three roots can only pass the barrier if they are running at the same time.
    recorder = Recorder(gate=threading.Barrier(3))
    list(execute_units(small_estate, [NET_E, KMS, NET_W], recorder, parallelism=3))
    assert recorder.peak == 3


def test_parallelism_bounds_the_units_running_at_once(small_estate):
    recorder = Recorder()
    list(execute_units(small_estate, small_estate.units, recorder, parallelism=1))
    assert recorder.peak == 1


def test_yield_order_is_a_topological_order(small_estate):
    events = list(execute_units(small_estate, small_estate.units, Recorder(), parallelism=3))
    finished = [e.path for e in events if isinstance(e, UnitSucceeded)]
    for dependent, dependency in small_estate.edges:
        assert finished.index(dependency) < finished.index(dependent)


def test_a_failed_unit_skips_its_dependents_and_other_branches_go_on(small_estate):
    events = list(execute_units(small_estate, small_estate.units, Recorder(fail={STORAGE}), parallelism=2))
    report = RunReport()
    for event in events:
        report.record(event)
    assert list(report.failed) == [STORAGE]
    assert report.skipped == {CLUSTER: f"upstream {STORAGE} failed", REPLICA: f"upstream {STORAGE} failed"}
    assert sorted(report.succeeded) == sorted([NET_E, KMS, NET_W])
    started = {e.path for e in events if isinstance(e, UnitStarted)}
    assert CLUSTER not in started and REPLICA not in started
    message = report.failure_message()
    assert f"FAILED  {STORAGE}: boom in {STORAGE}" in message
    assert f"SKIPPED {CLUSTER}: upstream {STORAGE} failed" in message
    assert "1 unit(s) failed, 2 skipped, 3 succeeded." in message


def test_skips_name_the_unit_that_failed_first(small_estate):
    events = list(execute_units(small_estate, small_estate.units, Recorder(fail={KMS}), parallelism=2))
    skipped = {e.path: e.cause for e in events if isinstance(e, UnitSkipped)}
    assert skipped[STORAGE] == f"upstream {KMS} failed"
    assert skipped[CLUSTER] == f"upstream {STORAGE} skipped (because {KMS} failed)"


def test_order_holds_through_unselected_units(small_estate):
    # networking → storage → cluster with storage not selected: cluster still waits for networking.
    assert selection_graph(small_estate, [NET_E, CLUSTER]) == {NET_E: set(), CLUSTER: {NET_E}}
    assert selection_graph(small_estate, [KMS, REPLICA]) == {KMS: set(), REPLICA: {KMS}}
    recorder = Recorder()
    list(execute_units(small_estate, [CLUSTER, NET_E], recorder, parallelism=2))
    assert recorder.order == [("start", NET_E), ("end", NET_E), ("start", CLUSTER), ("end", CLUSTER)]


def test_only_the_selected_units_run(small_estate):
    recorder = Recorder()
    list(execute_units(small_estate, [STORAGE], recorder, parallelism=2))
    assert recorder.order == [("start", STORAGE), ("end", STORAGE)]


def test_unknown_units_are_refused(small_estate):
    with pytest.raises(ValueError, match="not units of the estate"):
        list(execute_units(small_estate, ["nope/x/y"], Recorder(), parallelism=1))


def test_closing_the_stream_cancels_running_units_and_skips_the_rest(small_estate):
    cancel = threading.Event()
    seen_cancel: list[str] = []

    def slow(ctx):
        if not ctx.cancel.wait(10):
            raise AssertionError("never cancelled")
        seen_cancel.append(ctx.unit.path)
        raise RuntimeError("cancelled")

    events = execute_units(small_estate, small_estate.units, slow, parallelism=3, cancel=cancel)
    assert isinstance(next(events), UnitStarted)
    events.close()  # what happens when the run is terminated while the step waits
    assert cancel.is_set()
    assert sorted(seen_cancel) == sorted([NET_E, KMS, NET_W])


def test_deadline_is_given_to_each_unit(small_estate):
    deadlines = []
    before = time.monotonic()
    list(execute_units(small_estate, [KMS], lambda ctx: deadlines.append((ctx.deadline, ctx.timeout_seconds)), parallelism=1, unit_timeout_seconds=90))
    after = time.monotonic()
    ((deadline, timeout),) = deadlines
    assert timeout == 90 and deadline is not None
    assert before <= deadline - 90 <= after  # 90 s from the unit's start, not from some other moment
    list(execute_units(small_estate, [KMS], lambda ctx: deadlines.append((ctx.deadline, ctx.timeout_seconds)), parallelism=1))
    assert deadlines[1] == (None, None)  # no timeout configured: no deadline
