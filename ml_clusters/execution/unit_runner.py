"""What running one unit means, in plan mode and in apply mode. No Dagster here: results are plain data.

plan:  plan → show -json → summary → saved in the plan store → guard verdict.
apply: the saved plan for this unit and code_version when it is still valid, else a fresh plan; the
       guard; apply of that very plan file (unless it has no changes); outputs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from ml_clusters.estate import Estate
from ml_clusters.execution.executor import UnitContext
from ml_clusters.execution.guard import AllowedDestroy, GuardVerdict, check_plan
from ml_clusters.execution.plan_store import PlanStore, StoredPlan
from ml_clusters.execution.plan_summary import PlanSummary, summarize_plan
from ml_clusters.resources.terragrunt import Control, OutputValue, StalePlan, TerragruntCli

Mode = Literal["plan", "apply"]


# Set on an exception raised once `apply` had started: part of the plan may have been applied.
APPLY_STARTED = "ml_clusters_apply_started"


@dataclass(frozen=True)
class Planned:
    """Plan mode's result for one unit."""

    unit: str
    summary: PlanSummary
    verdict: GuardVerdict
    plan_file: Path


@dataclass(frozen=True)
class Applied:
    """Apply mode's result for one unit."""

    unit: str
    summary: PlanSummary
    verdict: GuardVerdict
    outputs: Mapping[str, OutputValue]
    applied: bool  # False when the plan had no changes (nothing to apply)
    plan_source: str  # where the applied plan came from, for the record


class GuardBlocked(Exception):
    """Apply mode: the plan deletes or replaces stateful resources that are not allow-listed."""

    def __init__(self, unit: str, summary: PlanSummary, verdict: GuardVerdict):
        self.unit, self.summary, self.verdict = unit, summary, verdict
        super().__init__(f"destructive-change guard: {verdict.describe(unit)}")


@dataclass
class UnitRunner:
    """The callable the executor runs for each unit."""

    cli: TerragruntCli
    store: PlanStore
    estate: Estate
    mode: Mode
    run_id: str
    code_versions: Mapping[str, str | None]
    allow_destroy: tuple[AllowedDestroy, ...] = ()
    max_plan_age_seconds: float = 24 * 3600
    # Last materialization time (epoch) of units before this run; used to tell a stale saved plan.
    materialized_at: Mapping[str, float] = field(default_factory=dict)
    _applied_now: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, ctx: UnitContext) -> Planned | Applied:
        return self.plan(ctx) if self.mode == "plan" else self.apply(ctx)

    # ------------------------------------------------------------------ modes

    def plan(self, ctx: UnitContext) -> Planned:
        summary, plan_file = self._fresh_plan(ctx)
        verdict = check_plan(ctx.unit.path, summary, self.allow_destroy)
        return Planned(unit=ctx.unit.path, summary=summary, verdict=verdict, plan_file=plan_file)

    def apply(self, ctx: UnitContext) -> Applied:
        path, code_version, control = ctx.unit.path, self.code_versions.get(ctx.unit.path), _control(ctx)
        saved = self.store.load(path, code_version)
        reason = self.unusable_reason(path, saved) if saved else "no saved plan for this code version"
        if saved is not None and reason is None:
            plan_file, summary = saved.plan_file, saved.summary
            source = f"saved plan from run {saved.run_id} ({_ago(saved.created_at)})"
        else:
            ctx.log("stderr", f"[ml-clusters] planning before apply: {reason}")
            summary, plan_file = self._fresh_plan(ctx)
            source = "plan made in this run"
        ctx.log("stderr", f"[ml-clusters] applying the {source}: {summary.headline}")

        verdict = self._guard(path, summary)
        applied = False
        if summary.has_changes:
            try:
                self._apply(ctx, plan_file, control)
            except StalePlan:
                if reason is not None:  # a plan made moments ago in this run: nothing to retry with
                    raise
                # The state moved since the saved plan was made: plan again (which drops the stale
                # saved plan), re-check, apply that.
                ctx.log("stderr", "[ml-clusters] the saved plan is stale; planning again")
                summary, plan_file = self._fresh_plan(ctx)
                source = "plan made in this run (the saved plan was stale)"
                verdict = self._guard(path, summary)
                if summary.has_changes:
                    self._apply(ctx, plan_file, control)
            applied = summary.has_changes
        if applied:
            with self._lock:
                self._applied_now[path] = time.time()
        outputs = self.cli.outputs(ctx.unit.dir, control=control)
        self.store.discard(path, code_version, plan_file)  # a plan is applied at most once
        return Applied(
            unit=path, summary=summary, verdict=verdict, outputs=outputs, applied=applied, plan_source=source
        )

    # ------------------------------------------------------------------ helpers

    def unusable_reason(self, path: str, saved: StoredPlan) -> str | None:
        """Why a saved plan must not be applied, or None when it may be."""
        age = time.time() - saved.created_at
        if age > self.max_plan_age_seconds:
            return f"the saved plan is {age / 60:.0f} min old (max_plan_age_minutes is {self.max_plan_age_seconds / 60:g})"
        for upstream in self.estate.upstream_of(path):
            with self._lock:
                changed = max(self.materialized_at.get(upstream, 0.0), self._applied_now.get(upstream, 0.0))
            if changed > saved.created_at:
                return f"upstream {upstream} was applied after the saved plan was made"
            if self.store.last_apply_attempt(upstream) > saved.created_at:
                return (
                    f"an apply of upstream {upstream} ran after the saved plan was made "
                    "(even one that failed or changed nothing may have changed its outputs)"
                )
        return None

    def _apply(self, ctx: UnitContext, plan_file: Path, control: Control) -> None:
        # Marked before and after, whatever the outcome: dependents' saved plans made before the end
        # of this apply are stale even if it failed half-way (see PlanStore.record_apply_attempt).
        self.store.record_apply_attempt(ctx.unit.path)
        try:
            self.cli.apply(ctx.unit.dir, plan_file, on_line=ctx.log, control=control)
        except BaseException as error:
            setattr(error, APPLY_STARTED, True)  # the step reports it on the asset: state may have changed
            raise
        finally:
            self.store.record_apply_attempt(ctx.unit.path)

    def _fresh_plan(self, ctx: UnitContext) -> tuple[PlanSummary, Path]:
        path, code_version, control = ctx.unit.path, self.code_versions.get(ctx.unit.path), _control(ctx)
        superseded = self.store.forget(path, code_version)
        plan_file = self.store.plan_file(path, code_version, self.run_id)
        try:
            run = self.cli.plan(ctx.unit.dir, plan_file, on_line=ctx.log, control=control)
            plan_json = self.cli.show_plan(ctx.unit.dir, plan_file, control=control)
            summary = summarize_plan(plan_json, has_changes=run.has_changes)
        except BaseException:  # failed, timed out or cancelled: leave no unrecorded plan file behind
            self.store.abandon(plan_file, superseded)
            raise
        self.store.save(path, code_version, plan_file, summary, self.run_id, supersedes=superseded)
        return summary, plan_file

    def _guard(self, path: str, summary: PlanSummary) -> GuardVerdict:
        verdict = check_plan(path, summary, self.allow_destroy)
        if not verdict.passed:
            raise GuardBlocked(path, summary, verdict)
        return verdict


def _control(ctx: UnitContext) -> Control:
    return Control(cancel=ctx.cancel, deadline=ctx.deadline, timeout_seconds=ctx.timeout_seconds)


def _ago(epoch: float) -> str:
    minutes = (time.time() - epoch) / 60
    return f"made {minutes:.0f} min ago" if minutes >= 1 else "made just now"

