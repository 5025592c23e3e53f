"""What every monitoring sensor shares: account/region slices, skips, probe reports, and the glue that
turns a probe into a sensor (recurring) and into an asset check (on demand, the UI's "Execute" button).

A *probe* is a plain function `probe(ctx, units) -> ProbeReport`: it looks at AWS for the given units
and says, per unit, whether the check passes. The sensor and the check definition run the same probe,
so a result seen in the UI can always be reproduced by clicking "Execute".
"""

import contextvars
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

import dagster as dg

from ml_clusters.estate import Account, Estate, Unit
from ml_clusters.resources.aws import AwsAccounts, count_api_calls, describe_aws_error
from ml_clusters.sensors.mapping import ResourceIndex, recorded_outputs
from ml_clusters.sensors.settings import MonitoringSettings

AWS_RESOURCE_KEY = "aws_accounts"
SETTINGS_RESOURCE_KEY = "monitoring_settings"

T = TypeVar("T")


@dataclass(frozen=True)
class Slice:
    """One account in one region: the unit of work, and of failure, for every probe."""

    account: Account
    region: str

    @property
    def label(self) -> str:
        return f"{self.account.key}/{self.region}"


@dataclass(frozen=True)
class Skip:
    """A slice (or one API within it) that could not be observed this time, and why."""

    slice: Slice
    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.slice.label} [{self.source}]: {self.reason}"


@dataclass
class Outcome:
    """The verdict of one check on one unit."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


@dataclass
class ProbeReport:
    check_name: str
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # unit path → verdict
    observations: dict[str, dict[str, float | int]] = field(default_factory=dict)  # unit path → numbers
    unknown: dict[str, str] = field(default_factory=dict)  # unit path → why it could not be judged
    skips: list[Skip] = field(default_factory=list)
    run_requests: list[dg.RunRequest] = field(default_factory=list)
    api_calls: int = 0
    notes: list[str] = field(default_factory=list)  # logged as warnings (e.g. unmapped resources)
    # unit path → why the probe reports numbers but no verdict (e.g. nothing it could compare)
    observed_only: dict[str, str] = field(default_factory=dict)
    state_etags: dict[str, str] = field(default_factory=dict)  # unit path → ETag of the state read


@dataclass
class ProbeContext:
    estate: Estate
    aws: AwsAccounts
    settings: MonitoringSettings
    asset_key_for: Callable[[Unit], dg.AssetKey]
    instance: dg.DagsterInstance | None = None
    log: logging.Logger | Any = field(default_factory=lambda: logging.getLogger("ml_clusters.sensors"))
    now: datetime = field(default_factory=lambda: utcnow())
    auto_extend: bool = False  # the capacity sensor may request the extend_capacity_block job
    # The sensor may request runs of the unit assets (the drift probe's plans). False when the probe
    # runs as an on-demand check, which cannot request runs.
    requests_runs: bool = False

    def slices(self, units: Iterable[Unit] | None = None) -> list[Slice]:
        """The account/region slices holding `units` (default: every slice of the estate)."""
        pairs = (
            {(u.account.key, u.region) for u in units if u.account and u.region}
            if units is not None
            else set(self.estate.regions)
        )
        accounts = self.estate.accounts
        return [Slice(accounts[key], region) for key, region in sorted(pairs)]

    def slice_of(self, unit: Unit) -> Slice | None:
        if unit.account is None or unit.region is None:
            return None
        return Slice(unit.account, unit.region)

    def applied(self, unit: Unit) -> bool:
        """The unit has a recorded materialization: it was applied through the execution plane."""
        if self.instance is None:
            return False
        try:
            return self.instance.get_latest_materialization_event(self.asset_key_for(unit)) is not None
        except Exception:  # noqa: BLE001 - an unreadable event log only loses this refinement
            return False

    def resource_index(self) -> ResourceIndex:
        return ResourceIndex(self.estate, recorded_outputs(self.instance, self.estate, self.asset_key_for))

    def client(self, slice_: Slice, service: str) -> Any:
        return self.aws.client(slice_.account.id, slice_.region, service)

    def in_slices(
        self, slices: Sequence[Slice], source: str, work: Callable[[Slice], T], skips: list[Skip]
    ) -> dict[Slice, T]:
        """Run `work(slice)` for every slice concurrently; a failing slice becomes a Skip, never an error."""
        results: dict[Slice, T] = {}
        if not slices:
            return results
        workers = max(1, min(self.settings.max_parallel_slices, len(slices)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"probe-{source}") as pool:
            # copy_context: the API call tally (a contextvar) follows the work into the threads.
            futures = {s: pool.submit(contextvars.copy_context().run, work, s) for s in slices}
            for slice_, future in futures.items():
                try:
                    results[slice_] = future.result()
                except Exception as error:  # noqa: BLE001 - any failure only costs this slice
                    skip = Skip(slice_, source, describe_aws_error(error))
                    skips.append(skip)
                    self.log.warning(f"skipped {skip}")
        return results


Probe = Callable[[ProbeContext, Sequence[Unit]], ProbeReport]


def skipped_reason(skips: Iterable[Skip], slices: Iterable[Slice]) -> str | None:
    """Why the data for a unit depending on these slices is incomplete (None when it is complete)."""
    wanted = set(slices)
    reasons = [str(s) for s in skips if s.slice in wanted]
    return "; ".join(reasons) if reasons else None


# --- metadata helpers ----------------------------------------------------------------------------------


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = 50) -> dg.MetadataValue:
    rows = list(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows[:limit]:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    if len(rows) > limit:
        lines.append(f"\n… and {len(rows) - limit} more")
    return dg.MetadataValue.md("\n".join(lines))


# --- cursor ---------------------------------------------------------------------------------------------


@dataclass
class TickCursor:
    """What a sensor remembers between ticks: which units failed, to log pass ↔ fail transitions."""

    ticks: int = 0
    last_tick: str | None = None
    failing: list[str] = field(default_factory=list)
    api_calls: int = 0
    skipped: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> "TickCursor":
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError):
            return cls()  # an unreadable cursor only costs the transition log of one tick

    def dumps(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


# --- sensor and check factories -------------------------------------------------------------------------


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _probe_context(
    estate: Estate,
    translator: Any,
    aws: AwsAccounts,
    settings: MonitoringSettings,
    instance: dg.DagsterInstance | None,
    log: Any,
    clock: Clock,
    auto_extend: bool = False,
    requests_runs: bool = False,
) -> ProbeContext:
    return ProbeContext(
        auto_extend=auto_extend,
        requests_runs=requests_runs,
        estate=estate,
        aws=aws,
        settings=settings,
        asset_key_for=translator.get_asset_key,
        instance=instance,
        log=log,
        now=clock(),
    )


def run_probe(probe: Probe, ctx: ProbeContext, units: Sequence[Unit]) -> ProbeReport:
    with count_api_calls() as tally:
        report = probe(ctx, units)
    report.api_calls = tally.total
    return report


def report_events(
    report: ProbeReport, units: Sequence[Unit], asset_key_for: Callable[[Unit], dg.AssetKey], area: str
) -> list[dg.AssetObservation | dg.AssetCheckEvaluation]:
    """Observations (numeric metadata, plotted by the UI) and check evaluations for each unit."""
    events: list[dg.AssetObservation | dg.AssetCheckEvaluation] = []
    for unit in units:
        key = asset_key_for(unit)
        outcome = report.outcomes.get(unit.path)
        if outcome is not None:
            numbers = report.observations.get(unit.path, {})
            if numbers:
                events.append(dg.AssetObservation(asset_key=key, metadata={f"{area}/{k}": v for k, v in numbers.items()}))
            events.append(
                dg.AssetCheckEvaluation(
                    asset_key=key,
                    check_name=report.check_name,
                    passed=outcome.passed,
                    severity=outcome.severity,
                    description=outcome.description,
                    metadata=outcome.metadata,
                )
            )
        elif unit.path in report.observed_only:
            metadata: dict[str, Any] = {f"{area}/{k}": v for k, v in report.observations.get(unit.path, {}).items()}
            metadata[f"{area}/note"] = report.observed_only[unit.path]
            events.append(dg.AssetObservation(asset_key=key, metadata=metadata))
        elif unit.path in report.unknown:
            # Visible on the asset page: this tick could not judge the unit, and why.
            events.append(
                dg.AssetObservation(asset_key=key, metadata={f"{area}/skipped": report.unknown[unit.path]})
            )
    return events


def build_probe_sensor(
    *,
    name: str,
    area: str,
    probe: Probe,
    estate: Estate,
    translator: Any,
    units: Sequence[Unit],
    minimum_interval_seconds: int,
    default_status: dg.DefaultSensorStatus,
    description: str,
    target: Any = None,
    job_name: str | None = None,
    clock: Clock = utcnow,
) -> dg.SensorDefinition:
    # The resource parameters are named after the resource keys (AWS_RESOURCE_KEY, SETTINGS_RESOURCE_KEY).
    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description=description,
        target=target,
        job_name=job_name,
    )
    def _sensor(
        context: dg.SensorEvaluationContext, aws_accounts: AwsAccounts, monitoring_settings: MonitoringSettings
    ) -> dg.SensorResult:
        previous = TickCursor.load(context.cursor)
        ctx = _probe_context(
            estate,
            translator,
            aws_accounts,
            monitoring_settings,
            context.instance,
            context.log,
            clock,
            auto_extend=job_name is not None,
            requests_runs=target is not None,
        )
        try:
            report = run_probe(probe, ctx, units)
        except Exception as error:  # noqa: BLE001 - a sensor tick must never raise: say why, judge nothing
            reason = f"probe failed unexpectedly ({type(error).__name__}: {error}); nothing judged this tick"
            context.log.warning(f"{name}: {reason}")
            report = ProbeReport(check_name="", unknown={u.path: reason for u in units})
        for note in report.notes:
            context.log.warning(note)
        previous_etags = previous.extra.get("state_etags") or {}
        for path, etag in sorted(report.state_etags.items()):
            if path in previous_etags and previous_etags[path] != etag:
                context.log.info(f"{path}: Terraform state changed since the previous tick")
        failing = sorted(p for p, o in report.outcomes.items() if not o.passed)
        was_failing = set(previous.failing)
        for path, outcome in sorted(report.outcomes.items()):
            if outcome.passed and path in was_failing:
                context.log.info(f"{report.check_name} on {path}: fail → pass")
            elif not outcome.passed and path not in was_failing:
                context.log.warning(f"{report.check_name} on {path}: now failing — {outcome.description}")
        # Units that could not be judged keep their previous state in the cursor.
        failing = sorted(set(failing) | {p for p in was_failing if p in report.unknown})
        context.log.info(
            f"{name}: {len(report.outcomes)} unit(s) judged, {len(failing)} failing, "
            f"{len(report.skips)} slice(s) skipped, {report.api_calls} AWS API call(s)"
        )
        cursor = TickCursor(
            ticks=previous.ticks + 1,
            last_tick=ctx.now.isoformat(),
            failing=failing,
            api_calls=report.api_calls,
            skipped=[str(s) for s in report.skips],
            # Units whose state could not be read this tick keep their previous ETag.
            extra={"state_etags": {**previous_etags, **report.state_etags}} if (report.state_etags or previous_etags) else {},
        )
        return dg.SensorResult(
            asset_events=report_events(report, units, translator.get_asset_key, area),
            run_requests=report.run_requests or None,
            cursor=cursor.dumps(),
        )

    return _sensor


def build_probe_check(
    *,
    check_name: str,
    probe: Probe,
    estate: Estate,
    translator: Any,
    units: Sequence[Unit],
    description: str,
    clock: Clock = utcnow,
) -> dg.AssetChecksDefinition | None:
    """The same probe as an on-demand asset check (declares the check so sensor results show in the UI)."""
    if not units:
        return None
    by_key = {translator.get_asset_key(u): u for u in units}

    @dg.multi_asset_check(
        name=f"{check_name}_check",
        specs=[dg.AssetCheckSpec(check_name, asset=key, description=description) for key in by_key],
        can_subset=True,
    )
    def _check(
        context: dg.AssetCheckExecutionContext, aws_accounts: AwsAccounts, monitoring_settings: MonitoringSettings
    ) -> Iterable[dg.AssetCheckResult]:
        selected = [by_key[k.asset_key] for k in context.selected_asset_check_keys if k.asset_key in by_key]
        ctx = _probe_context(estate, translator, aws_accounts, monitoring_settings, context.instance, context.log, clock)
        report = run_probe(probe, ctx, selected)
        for note in report.notes:
            context.log.warning(note)
        for unit in selected:
            outcome = report.outcomes.get(unit.path)
            if outcome is None and unit.path in report.observed_only:
                outcome = Outcome(
                    passed=False, severity=dg.AssetCheckSeverity.WARN, description=report.observed_only[unit.path]
                )
            if outcome is None:
                reason = report.unknown.get(unit.path, "no data")
                outcome = Outcome(
                    passed=False,
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"could not be evaluated: {reason}",
                )
            numbers = {f"observed/{k}": v for k, v in report.observations.get(unit.path, {}).items()}
            yield dg.AssetCheckResult(
                asset_key=translator.get_asset_key(unit),
                check_name=check_name,
                passed=outcome.passed,
                severity=outcome.severity,
                description=outcome.description,
                metadata={**outcome.metadata, **numbers},
            )

    return _check
