"""Drift, in two tiers, both reporting the check `no_drift` on every unit with remote state.

1. `drift_sensor` — the fast probe, every few minutes. For each unit it reads the Terraform state from
   the state bucket (bucket/key/region that root.hcl's `remote_state` gives the unit, as evaluated by
   the estate reader), and compares a curated set of attributes with the live API (see tfstate.py).
   No terragrunt, no lock. One `list_objects_v2` per state bucket tells which states changed (ETag);
   only those are downloaded again. A suspected drift fails the check and requests a plan-mode run of
   that unit (the unit and its `plan_safe` check only), with run key `<unit>:<state serial>` so it is
   requested once per state version — unless terragrunt is not installed here, in which case the
   check's metadata says why no plan was requested.
2. `daily_full_plan` schedule — every unit through the execution plane's plan mode (a real
   `terragrunt plan` with refresh). `plan_drift_sensor` reads the plan observations of finished runs
   and reports `no_drift` from them: drift found by refresh, or pending changes (plan exit code 2),
   fail the check.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg

from ml_clusters.assets.terragrunt_units import ASSETS_NAME, MODE_TAG
from ml_clusters.estate import Account, Estate, Unit
from ml_clusters.execution.step import PLAN_SAFE, PlanMetadata
from ml_clusters.resources.aws import SliceUnavailable, describe_aws_error
from ml_clusters.resources.terragrunt import INSTALL_HINT, TerragruntCli, TerragruntNotFound
from ml_clusters.sensors.core import Outcome, ProbeContext, ProbeReport, Skip, Slice, TickCursor, md_table
from ml_clusters.sensors.tfstate import (
    KINDS,
    MISSING,
    SEPARATE_RULE_TYPES,
    SEPARATE_RULES_MARK,
    Comparison,
    StateFormatError,
    StateResource,
    TerraformState,
    compare_resources,
    parse_state,
)

CHECK_NAME = "no_drift"
AREA = "drift"
STATE_MODULE = "tfstate"
PLAN_RUN_CONFIG = {"ops": {ASSETS_NAME: {"config": {"mode": PlanMetadata.PLAN}}}}
TRIGGER_TAG = "ml-clusters/trigger"
PLAN_SOURCE = "full plan"  # the `source` metadata of no_drift verdicts that come from a plan
PLAN_RAN_AT = "plan_ran_at"  # metadata of those verdicts: when the plan run started (read the state)
# plan_drift_sensor re-reads finished runs over this window before its cursor (runs whose update time
# is committed out of order, equal timestamps) and skips the ones it already reported, by run id.
PLAN_CURSOR_OVERLAP = timedelta(minutes=5)


def plan_selection(keys: Sequence[dg.AssetKey]) -> dg.AssetSelection:
    """The units and only their `plan_safe` checks. A plan run must not carry the other checks of the
    units (`no_drift` above all): they depend on a materialization that plan mode never records, so
    the run would mark them "Execution failed" and hide the result the probe just reported."""
    return dg.AssetSelection.assets(*keys).without_checks() | dg.AssetSelection.checks(
        *[dg.AssetCheckKey(key, PLAN_SAFE) for key in keys]
    )


def plan_run_request(unit_path: str, key: dg.AssetKey, run_key: str | None, trigger: str) -> dg.RunRequest:
    return dg.RunRequest(
        asset_selection=[key],
        asset_check_keys=[dg.AssetCheckKey(key, PLAN_SAFE)],  # not no_drift: see plan_selection
        run_key=run_key,
        run_config=PLAN_RUN_CONFIG,
        tags={TRIGGER_TAG: trigger, "ml-clusters/unit": unit_path, MODE_TAG: "plan"},
    )


def plan_unavailable() -> str | None:
    """Why a plan run requested from this process would fail at once, or None.

    With the default run launcher a run starts from the code server that evaluates the sensors, with
    its environment: a binary missing here is missing in the run. Resolved as the execution plane
    resolves it ($ML_CLUSTERS_TERRAGRUNT, else `terragrunt` on PATH; $ML_CLUSTERS_TF_PATH if set).
    """
    try:
        TerragruntCli().executable()
    except TerragruntNotFound as error:
        if str(error).startswith("OpenTofu"):  # terragrunt is there, the OpenTofu it is told to use is not
            return f"plan not requested: {error}"
        return f"plan not requested: terragrunt not installed ({INSTALL_HINT})"
    return None


def target_units(estate: Estate) -> list[Unit]:
    return [
        u
        for u in estate.units.values()
        if u.remote_state is not None and u.remote_state.backend == "s3" and u.remote_state.bucket and u.remote_state.key
    ]


# --- reading states --------------------------------------------------------------------------------------

# (bucket, key) → (ETag, parsed state or the reason it cannot be parsed). Lives as long as the code
# server, so a tick only downloads the states that changed since the previous one.
_states: dict[tuple[str, str], tuple[str, TerraformState | StateFormatError]] = {}
_states_lock = threading.Lock()


def clear_state_cache() -> None:
    with _states_lock:
        _states.clear()


def _state_owner(ctx: ProbeContext) -> Account | None:
    """The account whose observer role reads the state buckets (None: each unit's own account)."""
    wanted = ctx.settings.state_account_id
    if wanted is None:
        return next((u.account for u in ctx.estate.units.values() if u.module == STATE_MODULE and u.account), None)
    for account in ctx.estate.accounts.values():
        if account.id == wanted:
            return account
    return Account(key=f"account-{wanted}", name=wanted, id=wanted)


@dataclass
class StateRead:
    state: TerraformState | None = None  # None: no object at that key (never applied)
    problem: str | None = None  # unreadable or unsupported
    etag: str | None = None
    modified: datetime | None = None  # when the state object was last written


def _read_states(ctx: ProbeContext, slice_: Slice, bucket: str, keys: set[str]) -> dict[str, StateRead]:
    s3 = ctx.client(slice_, "s3")
    listed: dict[str, tuple[str, datetime | None]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            if item["Key"] in keys:
                listed[item["Key"]] = (item.get("ETag", ""), item.get("LastModified"))
    reads: dict[str, StateRead] = {}
    for key in keys:
        if key not in listed:
            reads[key] = StateRead()
            continue
        etag, modified = listed[key]
        with _states_lock:
            cached = _states.get((bucket, key))
        if cached is None or cached[0] != etag:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            try:
                parsed: TerraformState | StateFormatError = parse_state(body, f"s3://{bucket}/{key}")
            except StateFormatError as error:
                parsed = error  # cached with its ETag: a broken file is not downloaded again until it changes
            cached = (etag, parsed)
            with _states_lock:
                _states[(bucket, key)] = cached
        parsed = cached[1]
        if isinstance(parsed, StateFormatError):
            reads[key] = StateRead(problem=str(parsed), etag=etag, modified=modified)
        else:
            reads[key] = StateRead(parsed, etag=etag, modified=modified)
    return reads


def _standing_plan_failure(ctx: ProbeContext, unit: Unit, read: StateRead) -> str | None:
    """The description of the latest no_drift verdict when it is a failed full plan of the current
    state (the plan ran after the state was last written) — a probe that compares a few attributes
    must not overwrite it with a pass."""
    if ctx.instance is None:
        return None
    try:
        record = ctx.instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(ctx.asset_key_for(unit), CHECK_NAME)
        )
        evaluation = record.event.dagster_event.event_specific_data if record and record.event else None
    except Exception:  # noqa: BLE001 - an unreadable event log only loses this refinement
        return None
    if evaluation is None or getattr(evaluation, "passed", True):
        return None
    source = getattr((evaluation.metadata or {}).get("source"), "value", None)
    if not isinstance(source, str) or not source.startswith(PLAN_SOURCE):
        return None
    if read.modified is not None and read.modified.timestamp() > _plan_ran_at(ctx, evaluation, source, record.create_timestamp):
        return None  # the state changed (an apply) since that plan ran: its verdict is stale
    return f"{evaluation.description} ({source})"


def _plan_ran_at(ctx: ProbeContext, evaluation: Any, source: str, recorded_at: float) -> float:
    """When the plan behind a verdict ran (not when the sensor recorded the verdict, which can be much
    later): its `plan_ran_at` metadata, else the start of the run named in `source`."""
    ran_at = getattr((evaluation.metadata or {}).get(PLAN_RAN_AT), "value", None)
    if isinstance(ran_at, (int, float)):
        return float(ran_at)
    run_id = source.rsplit("run ", 1)[-1].strip() if "run " in source else None
    try:
        run = ctx.instance.get_run_record_by_id(run_id) if run_id and ctx.instance is not None else None
    except Exception:  # noqa: BLE001 - fall back to the recording time
        run = None
    if run is not None:
        return run.start_time or run.create_timestamp.timestamp()
    return recorded_at


# --- the fast probe --------------------------------------------------------------------------------------


@dataclass
class _LiveResult:
    live: dict[tuple[str, str], Any] = field(default_factory=dict)  # (type, id) → live view
    failed_types: dict[str, str] = field(default_factory=dict)  # type → why it could not be read


def _unexpected(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def probe(ctx: ProbeContext, units: Sequence[Unit]) -> ProbeReport:
    report = ProbeReport(CHECK_NAME)
    if not units:
        return report

    # 1. The states, grouped by the bucket that holds them.
    locations: dict[tuple[Slice, str], dict[str, Unit]] = {}
    owner = _state_owner(ctx)
    for unit in units:
        rs = unit.remote_state
        if rs is None or rs.backend != "s3" or not rs.bucket or not rs.key:
            report.unknown[unit.path] = "the unit has no S3 remote_state"
            continue
        state_slice = Slice(owner or unit.account, rs.region or unit.region or "us-east-1")
        locations.setdefault((state_slice, rs.bucket), {})[rs.key] = unit

    reads: dict[str, StateRead] = {}
    for (state_slice, bucket), by_key in sorted(locations.items(), key=lambda item: (item[0][0].label, item[0][1])):
        try:
            for key, read in _read_states(ctx, state_slice, bucket, set(by_key)).items():
                reads[by_key[key].path] = read
        except Exception as error:  # noqa: BLE001 - the bucket is unreadable: these units stay unknown
            skip = Skip(state_slice, f"terraform state s3://{bucket}", describe_aws_error(error))
            report.skips.append(skip)
            ctx.log.warning(f"skipped {skip}")
            for unit in by_key.values():
                report.unknown[unit.path] = str(skip)
    report.state_etags = {path: read.etag for path, read in reads.items() if read.etag}

    # 2. What to compare, per account/region of the unit (resources of aliased providers may live
    #    elsewhere: their account is not known statically, so they are listed as not compared).
    wanted: dict[Slice, dict[str, set[str]]] = {}
    comparable: dict[str, list[StateResource]] = {}
    not_compared: dict[str, list[str]] = {}
    broken: dict[str, str] = {}  # unit path → why its state could not be used
    for unit in units:
        read = reads.get(unit.path)
        if read is None or read.state is None:
            continue
        try:
            mine, skipped, ids = _comparable(ctx, unit, read.state)
        except Exception as error:  # noqa: BLE001 - one unit's odd state never costs the others
            broken[unit.path] = str(error) if isinstance(error, StateFormatError) else _unexpected(error)
            continue
        comparable[unit.path], not_compared[unit.path] = mine, skipped
        for (slice_, type_), identities in ids.items():
            wanted.setdefault(slice_, {}).setdefault(type_, set()).update(identities)

    # 3. Live views, batched per account/region and type.
    def fetch_live(slice_: Slice) -> _LiveResult:
        result = _LiveResult()
        for type_, ids in sorted(wanted[slice_].items()):
            kind = KINDS[type_]
            try:
                for identity, live in kind.fetch(ctx.client(slice_, kind.service), sorted(ids)).items():
                    result.live[(type_, identity)] = live
            except SliceUnavailable:
                raise  # the whole account/region is out of reach: in_slices records one skip
            except Exception as error:  # noqa: BLE001 - one API down only costs its resources
                result.failed_types[type_] = describe_aws_error(error)
        return result

    live_by_slice = ctx.in_slices(sorted(wanted, key=lambda s: s.label), "live api", fetch_live, report.skips)
    for slice_, result in live_by_slice.items():
        for type_, reason in result.failed_types.items():
            skip = Skip(slice_, type_, reason)
            report.skips.append(skip)
            ctx.log.warning(f"skipped {skip}")

    # 4. Compare and judge, each unit on its own: one unit's problem never affects the others.
    suspected: list[tuple[Unit, Outcome, int]] = []
    for unit in units:
        if unit.path in report.unknown:
            continue
        read = reads.get(unit.path)
        if read is None:
            continue
        location = f"s3://{unit.remote_state.bucket}/{unit.remote_state.key}"
        try:
            verdict = _judge_unit(ctx, unit, read, location, comparable, not_compared, broken, live_by_slice, report)
        except Exception as error:  # noqa: BLE001 - a bug or odd state in one unit only costs that unit
            reason = f"state unreadable: {location}: {error}" if isinstance(error, StateFormatError) else f"could not compare: {_unexpected(error)}"
            verdict = _unreadable(location, reason)
            ctx.log.warning(f"{CHECK_NAME} on {unit.path}: {verdict.description}")
            report.outcomes[unit.path] = verdict
            continue
        if verdict is not None and read.state is not None and "differences" in verdict.metadata:
            suspected.append((unit, verdict, read.state.serial))

    # 5. Confirm each suspicion with a plan of the unit (once per state serial), when a plan can run.
    if suspected and ctx.requests_runs:
        unavailable = plan_unavailable()
        for unit, outcome, serial in suspected:
            if unavailable:
                outcome.metadata["plan"] = unavailable
                outcome.description += f"; {unavailable}"
                continue
            run_key = f"{unit.path}:{serial}"
            report.run_requests.append(plan_run_request(unit.path, ctx.asset_key_for(unit), run_key, "drift-probe"))
            outcome.metadata["plan"] = f"plan-mode run requested (run key {run_key})"
            outcome.description += "; a plan of this unit was requested"
    return report


def _unreadable(location: str, reason: str) -> Outcome:
    # WARN: nothing is known to have drifted, but the unit cannot be vouched for until someone looks.
    return Outcome(False, reason, {"state": location}, severity=dg.AssetCheckSeverity.WARN)


def _comparable(
    ctx: ProbeContext, unit: Unit, state: TerraformState
) -> tuple[list[StateResource], list[str], dict[tuple[Slice, str], set[str]]]:
    """The unit's resources of the curated set that can be compared, the others (address: why), and
    the live ids wanted per (slice, type)."""
    slice_ = ctx.slice_of(unit)
    mine: list[StateResource] = []
    skipped: list[str] = []
    ids: dict[tuple[Slice, str], set[str]] = {}
    rule_groups = {
        str(r.attributes.get("security_group_id"))
        for r in state.resources
        if r.type in SEPARATE_RULE_TYPES and r.attributes.get("security_group_id")
    }
    for resource in state.resources:
        kind = KINDS.get(resource.type)
        if kind is None:
            continue
        if resource.provider_alias is not None or slice_ is None:
            skipped.append(f"{resource.address}: provider alias {resource.provider_alias!r}")
            continue
        identity = kind.identity(resource.attributes)
        if not identity:
            skipped.append(f"{resource.address}: no id in state")
            continue
        if not isinstance(identity, str):
            raise StateFormatError(f"{resource.address}: id is {type(identity).__name__}, expected a string")
        if resource.type == "aws_security_group" and identity in rule_groups:
            # Rules are managed as separate resources (compared one by one); the inline lists in
            # state stay [] until a refresh, so comparing them would report every rule as drift.
            resource = StateResource(
                resource.address, resource.type, resource.provider_alias,
                {**resource.attributes, SEPARATE_RULES_MARK: True}, resource.sensitive,
            )
        mine.append(resource)
        ids.setdefault((slice_, resource.type), set()).add(identity)
    return mine, skipped, ids


def _judge_unit(
    ctx: ProbeContext,
    unit: Unit,
    read: StateRead,
    location: str,
    comparable: dict[str, list[StateResource]],
    not_compared: dict[str, list[str]],
    broken: dict[str, str],
    live_by_slice: dict[Slice, _LiveResult],
    report: ProbeReport,
) -> Outcome | None:
    """Record the unit's verdict (or observation, or unknown) in the report; return the outcome if any."""
    path = unit.path
    if read.problem:
        outcome = _unreadable(location, f"state unreadable: {read.problem}")
        report.outcomes[path] = outcome
        return outcome
    if path in broken:
        outcome = _unreadable(location, f"state unreadable: {location}: {broken[path]}")
        report.outcomes[path] = outcome
        return outcome
    if read.state is None:
        if ctx.applied(unit):
            outcome = Outcome(
                False,
                f"state missing for an applied unit: no object at {location}, but the unit has a materialization",
                {"state": location},
            )
            report.outcomes[path] = outcome
            return outcome
        # Never applied: nothing to compare, so nothing to vouch for — an observation, not a pass.
        report.observations[path] = {"resources_compared": 0, "deployed": 0}
        report.observed_only[path] = f"not deployed: no state at {location}"
        return None
    slice_ = ctx.slice_of(unit)
    resources = comparable.get(path, [])
    if resources and slice_ not in live_by_slice:
        report.unknown[path] = next((str(s) for s in report.skips if s.slice == slice_), "live API unreachable")
        return None
    result = live_by_slice.get(slice_) or _LiveResult()
    skipped_here = [r for r in resources if r.type in result.failed_types]
    notes = list(not_compared.get(path, [])) + [f"{r.address}: {result.failed_types[r.type]}" for r in skipped_here]
    checked = [r for r in resources if r.type not in result.failed_types]
    comparison = compare_resources(
        checked, lambda r: result.live.get((r.type, KINDS[r.type].identity(r.attributes)), MISSING)
    )
    comparison.not_compared = notes
    if skipped_here and not comparison.differences:
        # No drift among what could be read is not "no drift": say what could not be read.
        report.unknown[path] = "; ".join(f"{r.address}: {result.failed_types[r.type]}" for r in skipped_here)
        return None
    outcome, numbers = _judge(read.state, location, comparison)
    report.observations[path] = numbers
    if comparison.compared == 0:
        # None of the unit's resources is in the curated set (IAM, ECR, Helm releases...): the probe
        # saw nothing, so it says nothing about drift. Only the full plan can judge this unit.
        report.observed_only[path] = (
            f"not compared by the fast probe: none of its {len(read.state.resources)} resource(s) is of a "
            "compared type (the daily full plan judges this unit)"
        )
        return None
    if outcome.passed:
        standing = _standing_plan_failure(ctx, unit, read)
        if standing:
            report.observed_only[path] = (
                f"fast probe found no difference in {comparison.compared} resource(s), but the last full plan "
                f"of this state failed: {standing}"
            )
            return None
    report.outcomes[path] = outcome
    return outcome


def _judge(state: TerraformState, location: str, comparison: Comparison) -> tuple[Outcome, dict[str, float | int]]:
    drifted = sorted({d.address for d in comparison.differences})
    numbers: dict[str, float | int] = {
        "resources_compared": comparison.compared,
        "drifted_resources": len(drifted),
        "drifted_attributes": len(comparison.differences),
        "state_serial": state.serial,
    }
    metadata: dict[str, Any] = {
        "state": location,
        "serial": state.serial,
        "lineage": state.lineage,
        **numbers,
    }
    if comparison.differences:
        metadata["differences"] = md_table(
            ["resource", "attribute", "in state", "live"],
            [(d.address, d.attribute, d.recorded, d.live) for d in comparison.differences],
        )
    if comparison.not_compared:
        metadata["not_compared"] = dg.MetadataValue.json(comparison.not_compared)
    if comparison.differences:
        first = comparison.differences[0]
        description = (
            f"suspected drift in {len(drifted)} resource(s): {first.address} {first.attribute} "
            f"{first.recorded} → {first.live}"
        )
        return Outcome(False, description, metadata), numbers
    description = f"{comparison.compared} resource(s) match the state (serial {state.serial})"
    if comparison.not_compared:
        description += f"; {len(comparison.not_compared)} not compared"
    return Outcome(True, description, metadata), numbers


# --- the full plan -----------------------------------------------------------------------------------------


def build_full_plan_schedule(
    estate: Estate,
    translator: Any,
    *,
    cron_schedule: str,
    default_status: dg.DefaultScheduleStatus,
    name: str = "daily_full_plan",
) -> dg.ScheduleDefinition:
    """Plan every unit (plan mode never records a materialization) on a schedule, UTC."""
    keys = [translator.get_asset_key(estate.units[p]) for p in estate.topological_order]
    return dg.ScheduleDefinition(
        name=name,
        cron_schedule=cron_schedule,
        execution_timezone="UTC",
        target=plan_selection(keys),
        run_config=PLAN_RUN_CONFIG,
        tags={TRIGGER_TAG: name, MODE_TAG: "plan"},
        default_status=default_status,
        description="Plan every unit (terragrunt plan with refresh). plan_drift_sensor turns the results into no_drift.",
    )


@dataclass(frozen=True)
class PlanVerdict:
    drifted: int
    pending: int  # resources the plan would add/change/destroy/replace (exit code 2 when > 0)
    headline: str
    drifted_resources: Any


def plan_verdict(metadata: dict[str, Any]) -> PlanVerdict | None:
    """Read a plan observation of the execution plane (metadata mode == "plan"); None for others."""

    def value(name: str, default: Any = None) -> Any:
        entry = metadata.get(name)
        return getattr(entry, "value", entry) if entry is not None else default

    if str(value(PlanMetadata.MODE, "")) != PlanMetadata.PLAN:
        return None
    pending = sum(int(value(n, 0) or 0) for n in PlanMetadata.PENDING)
    return PlanVerdict(
        drifted=int(value(PlanMetadata.DRIFTED, 0) or 0),
        pending=pending,
        headline=str(value(PlanMetadata.HEADLINE, "")),
        drifted_resources=value(PlanMetadata.DRIFTED_RESOURCES, []),
    )


def build_plan_drift_sensor(
    estate: Estate,
    translator: Any,
    *,
    minimum_interval_seconds: int,
    default_status: dg.DefaultSensorStatus,
    name: str = "plan_drift_sensor",
) -> dg.SensorDefinition:
    by_key = {translator.get_asset_key(u): u for u in target_units(estate)}
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Reports no_drift from the plan observations of finished plan runs (e.g. daily_full_plan).",
    )
    def _plan_drift(context):
        cursor = TickCursor.load(context.cursor)
        since = cursor.extra.get("updated_after")
        # Every run already reported whose update time lies within the overlap window of the newest
        # one (run id → update timestamp): runs are re-read over that window, and skipped by id, so
        # each finished plan run is reported exactly once however close together runs finish.
        seen: dict[str, float] = {str(k): float(v) for k, v in (cursor.extra.get("seen_runs") or {}).items()}
        if since and not seen:  # a cursor of the previous format
            seen = {run_id: datetime.fromisoformat(since).timestamp() for run_id in cursor.extra.get("runs_at_boundary", [])}
        updated_after = (
            datetime.fromisoformat(since) - PLAN_CURSOR_OVERLAP
            if since
            else datetime.now(timezone.utc) - timedelta(days=1)
        )
        records = context.instance.get_run_records(
            dg.RunsFilter(statuses=finished, updated_after=updated_after), order_by="update_timestamp", ascending=True
        )
        latest: dict[dg.AssetKey, tuple[str, PlanVerdict, float]] = {}
        newest = since
        for record in records:
            run_id = record.dagster_run.run_id
            stamp = record.update_timestamp.isoformat()
            if newest is None or stamp > newest:
                newest = stamp
            if run_id in seen:
                continue
            seen[run_id] = record.update_timestamp.timestamp()
            ran_at = record.start_time or record.create_timestamp.timestamp()
            for entry in context.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_OBSERVATION):
                observation = entry.asset_observation
                if observation is None or observation.asset_key not in by_key:
                    continue
                verdict = plan_verdict(dict(observation.metadata))
                if verdict is not None:
                    latest[observation.asset_key] = (run_id, verdict, ran_at)
        if newest is not None:
            horizon = (datetime.fromisoformat(newest) - PLAN_CURSOR_OVERLAP).timestamp()
            seen = {run_id: stamp for run_id, stamp in seen.items() if stamp >= horizon}
        events = [_plan_evaluation(key, run_id, verdict, ran_at) for key, (run_id, verdict, ran_at) in latest.items()]
        next_cursor = TickCursor(
            ticks=cursor.ticks + 1,
            last_tick=datetime.now(timezone.utc).isoformat(),
            failing=sorted("/".join(e.asset_key.path) for e in events if not e.passed),
            extra={"updated_after": newest, "seen_runs": dict(sorted(seen.items()))},
        )
        if events:
            context.log.info(f"{name}: no_drift from {len(events)} plan observation(s)")
        return dg.SensorResult(asset_events=events, cursor=next_cursor.dumps())

    return _plan_drift


def _plan_evaluation(key: dg.AssetKey, run_id: str, verdict: PlanVerdict, ran_at: float | None = None) -> dg.AssetCheckEvaluation:
    metadata: dict[str, Any] = {
        "source": f"{PLAN_SOURCE}, run {run_id}",
        "plan": verdict.headline,
        "drifted_resources": dg.MetadataValue.json(verdict.drifted_resources),
        "drifted": verdict.drifted,
        "pending_changes": verdict.pending,
    }
    if ran_at is not None:
        # When the plan read the state: a state written after it makes this verdict stale.
        metadata[PLAN_RAN_AT] = dg.MetadataValue.timestamp(ran_at)
    if verdict.drifted:
        return dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            description=f"plan found drift in {verdict.drifted} resource(s): {verdict.headline}",
            metadata=metadata,
        )
    if verdict.pending:
        return dg.AssetCheckEvaluation(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"plan has pending changes (exit code 2): {verdict.headline}",
            metadata=metadata,
        )
    return dg.AssetCheckEvaluation(
        asset_key=key, check_name=CHECK_NAME, passed=True, description="plan: no changes", metadata=metadata
    )
