"""The body of the `terragrunt_units` step: selected asset keys in, Dagster events out.

Runs the executor, turns each unit's result into events as it finishes (completion order is a
topological order), streams terragrunt's output into the Dagster log, and fails the step at the end
naming every failed and skipped unit. All Dagster calls happen on the step's own thread.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Literal, Protocol, Sequence

import dagster as dg

from ml_clusters.estate import Estate
from ml_clusters.execution.executor import (
    LogLines,
    RunReport,
    UnitFailed,
    UnitSkipped,
    UnitStarted,
    UnitSucceeded,
    execute_units,
)
from ml_clusters.execution.guard import AllowedDestroy, GuardVerdict
from ml_clusters.execution.plan_store import PlanStore, PlanStoreError, default_plan_dir
from ml_clusters.execution.plan_summary import PlanSummary
from ml_clusters.execution.unit_runner import APPLY_STARTED, Applied, GuardBlocked, Planned, UnitRunner
from ml_clusters.resources.terragrunt import StalePlan, TerragruntCli, TerragruntNotFound
from ml_clusters.translator import TerragruntTranslator

PLAN_SAFE = "plan_safe"
MAX_OUTPUT_CHARS = 2000  # per output value in metadata; kubeconfigs and the like are truncated


class PlanMetadata:
    """Metadata names of the plan observation and materialization; the drift sensor reads them back."""

    MODE = "mode"
    PLAN = "plan"  # the MODE value of a plan-only observation
    APPLY = "apply"
    HEADLINE = "headline"
    TO_ADD = "to_add"
    TO_CHANGE = "to_change"
    TO_DESTROY = "to_destroy"
    TO_REPLACE = "to_replace"
    PENDING = (TO_ADD, TO_CHANGE, TO_DESTROY, TO_REPLACE)  # exit code 2 when any is > 0
    DRIFTED = "drifted"
    CHANGED_RESOURCES = "changed_resources"
    DRIFTED_RESOURCES = "drifted_resources"


class _AllowDestroy(Protocol):
    unit: str
    address: str


class StepConfig(Protocol):
    mode: Literal["plan", "apply"]
    allow_destroy: Sequence[_AllowDestroy]
    parallelism: int
    unit_timeout_minutes: float
    max_plan_age_minutes: float


def run_terragrunt_step(
    context: dg.AssetExecutionContext,
    config: StepConfig,
    terragrunt: TerragruntCli,
    estate: Estate,
    translator: TerragruntTranslator,
) -> Iterator[Any]:
    try:
        terragrunt.executable()  # a missing binary fails at once, before any unit starts
    except TerragruntNotFound as missing:
        raise dg.Failure(description=str(missing)) from None

    keys_by_path = {}
    for key in context.selected_asset_keys:
        keys_by_path[translator.unit_for_key(estate, key).path] = key
    _check_allow_list(config, estate)
    allow = tuple(AllowedDestroy(unit=a.unit.strip("/"), address=a.address) for a in config.allow_destroy)

    store = PlanStore(default_plan_dir(getattr(context.instance, "root_directory", None)))
    try:
        store.ensure()  # an unusable plan store fails the step once, before any unit starts
    except PlanStoreError as unusable:
        raise dg.Failure(description=str(unusable)) from None
    code_versions = context.assets_def.code_versions_by_key
    runner = UnitRunner(
        cli=terragrunt,
        store=store,
        estate=estate,
        mode=config.mode,
        run_id=context.run.run_id,
        code_versions={path: code_versions.get(key) for path, key in keys_by_path.items()},
        allow_destroy=allow,
        max_plan_age_seconds=config.max_plan_age_minutes * 60,
        materialized_at=_last_materializations(context, estate, translator, keys_by_path) if config.mode == "apply" else {},
    )
    checks = set(context.selected_asset_check_keys)
    context.log.info(
        f"{config.mode} of {len(keys_by_path)} unit(s), parallelism {config.parallelism}, plans in {store.root}"
    )

    report = RunReport()
    events = execute_units(
        estate,
        keys_by_path,
        runner,
        parallelism=config.parallelism,
        unit_timeout_seconds=config.unit_timeout_minutes * 60,
    )
    with contextlib.closing(events):
        for event in events:
            report.record(event)
            if isinstance(event, LogLines):
                context.log.info("\n".join(f"[{line.path}] {line.line}" for line in event.lines))
            elif isinstance(event, UnitStarted):
                context.log.info(f"[{event.path}] {config.mode} started")
            elif isinstance(event, UnitSucceeded):
                key = keys_by_path[event.path]
                yield from _success_events(key, event.result, event.seconds, checks)
                context.log.info(f"[{event.path}] {config.mode} finished in {event.seconds:.1f}s")
            elif isinstance(event, UnitFailed):
                context.log.error(f"[{event.path}] {config.mode} failed: {event.error}")
                if isinstance(event.error, GuardBlocked):
                    key = keys_by_path[event.path]
                    yield from _blocked_events(key, event.error, checks)
                elif getattr(event.error, APPLY_STARTED, False) and not isinstance(event.error, StalePlan):
                    yield _failed_apply_event(keys_by_path[event.path], event.error, event.seconds)
            elif isinstance(event, UnitSkipped):
                context.log.warning(f"[{event.path}] skipped: {event.cause}")

    if not report.ok:
        raise dg.Failure(
            description=report.failure_message(),
            metadata={
                "failed": dg.MetadataValue.json(sorted(report.failed)),
                "skipped": dg.MetadataValue.json(report.skipped),
            },
        )


# ---------------------------------------------------------------------- events per unit


def _success_events(key: dg.AssetKey, result: Planned | Applied, seconds: float, checks: set) -> Iterator[Any]:
    check = _check_result(key, result.unit, result.summary, result.verdict, checks)
    metadata = {**_summary_metadata(result.summary), "seconds": dg.MetadataValue.float(round(seconds, 2))}
    if isinstance(result, Planned):
        # Plan never records a materialization: an observation carries the plan instead.
        metadata["plan_file"] = dg.MetadataValue.path(str(result.plan_file))
        yield dg.AssetObservation(asset_key=key, metadata={PlanMetadata.MODE: PlanMetadata.PLAN, **metadata})
        if check is not None:
            yield check
        return
    metadata["outputs"] = dg.MetadataValue.json(_displayable_outputs(result.outputs))
    metadata["plan_source"] = result.plan_source
    metadata["applied"] = result.applied
    yield dg.MaterializeResult(
        asset_key=key, metadata={PlanMetadata.MODE: PlanMetadata.APPLY, **metadata}, check_results=[check] if check is not None else None
    )


def _failed_apply_event(key: dg.AssetKey, error: BaseException, seconds: float) -> dg.AssetObservation:
    """An apply that failed after it started may have changed part of the unit (OpenTofu writes state
    as each resource completes): said on the asset itself, not only in the run's log."""
    return dg.AssetObservation(
        asset_key=key,
        description="apply failed after it started: some resources may have changed; plan again to see the state",
        metadata={
            PlanMetadata.MODE: f"{PlanMetadata.APPLY} (failed)",
            "error": str(error)[:MAX_OUTPUT_CHARS],
            "state_may_have_changed": True,
            "seconds": dg.MetadataValue.float(round(seconds, 2)),
        },
    )


def _blocked_events(key: dg.AssetKey, blocked: GuardBlocked, checks: set) -> Iterator[Any]:
    yield dg.AssetObservation(asset_key=key, metadata={PlanMetadata.MODE: f"{PlanMetadata.APPLY} (blocked by the guard)", **_summary_metadata(blocked.summary)})
    check = _check_result(key, blocked.unit, blocked.summary, blocked.verdict, checks)
    if check is not None:
        yield check


def _check_result(
    key: dg.AssetKey, unit: str, summary: PlanSummary, verdict: GuardVerdict, checks: set
) -> dg.AssetCheckResult | None:
    if dg.AssetCheckKey(key, PLAN_SAFE) not in checks:
        return None
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=PLAN_SAFE,
        passed=verdict.passed,
        description=verdict.describe(unit),
        metadata={
            "blocked": dg.MetadataValue.json([c.as_dict() for c in verdict.blocked]),
            "allowed": dg.MetadataValue.json([c.as_dict() for c in verdict.allowed]),
            "plan": summary.headline,
        },
    )


def _summary_metadata(summary: PlanSummary) -> dict[str, Any]:
    return {
        "summary": dg.MetadataValue.md(summary.markdown()),
        PlanMetadata.HEADLINE: summary.headline,
        PlanMetadata.TO_ADD: dg.MetadataValue.int(summary.add),
        PlanMetadata.TO_CHANGE: dg.MetadataValue.int(summary.change),
        PlanMetadata.TO_DESTROY: dg.MetadataValue.int(summary.destroy),
        PlanMetadata.TO_REPLACE: dg.MetadataValue.int(summary.replace),
        PlanMetadata.DRIFTED: dg.MetadataValue.int(len(summary.drift)),
        PlanMetadata.CHANGED_RESOURCES: dg.MetadataValue.json([c.as_dict() for c in summary.changes]),
        PlanMetadata.DRIFTED_RESOURCES: dg.MetadataValue.json([c.as_dict() for c in summary.drift]),
    }


def _displayable_outputs(outputs) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for name, output in sorted(outputs.items()):
        value = output.display()  # "(sensitive)" for sensitive outputs: their values never leave here
        text = json.dumps(value)
        shown[name] = value if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS] + "… (truncated)"
    return shown


# ---------------------------------------------------------------------- run-level inputs


def _check_allow_list(config: StepConfig, estate: Estate) -> None:
    for entry in config.allow_destroy:
        if entry.unit.strip("/") not in estate.units:
            raise dg.Failure(description=f"allow_destroy names {entry.unit!r}, which is not a unit under {estate.root}")
        if not entry.address:
            raise dg.Failure(description=f"allow_destroy entry for {entry.unit!r} has an empty address")


def _last_materializations(context, estate: Estate, translator: TerragruntTranslator, keys_by_path) -> dict[str, float]:
    """When each upstream of the selection last applied changes (epoch), to tell a stale saved plan."""
    upstream = {u for path in keys_by_path for u in estate.upstream_of(path)}
    keys = {translator.get_asset_key(estate.units[p]): p for p in upstream}
    if not keys:
        return {}
    latest = context.instance.get_latest_materialization_events(list(keys))
    applied_at: dict[str, float] = {}
    for key, entry in latest.items():
        if entry is None or entry.asset_materialization is None:
            continue
        applied = entry.asset_materialization.metadata.get("applied")
        # An apply that found nothing to change leaves downstream plans valid.
        if applied is None or applied.value:
            applied_at[keys[key]] = entry.timestamp
    return applied_at
