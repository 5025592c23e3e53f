"""capacity_expiry_sensor → check `capacity_not_expiring` on the capacity-block units and the clusters
that use their capacity.

Per account/region: one paginated `ec2.describe_capacity_reservations` filtered to live states (Capacity
Blocks are picked out by their `ReservationType`, which is not a documented server-side filter) and
one paginated `sagemaker.list_training_plans`. Only for capacity already inside a warning lead time:
one `describe_capacity_block_extension_offerings` to name the cheapest extension.

Mapping: a Capacity Block carries the unit tag of the unit that bought it; the check lands on that unit
and on every cluster unit that depends on it (e.g. parallelcluster → capacity-block). A Training Plan
has no Terraform resource: it maps through the unit tag (Tagging API) or a recorded output naming its
ARN (e.g. the HyperPod unit's `training_plan_arn`).

Blocks tagged for auto-extension (`ml-clusters capacity-blocks auto-extend`) are handed to the
capacity plane's `plan_auto_extension`; when one is due, the sensor requests the price-capped
`extend_capacity_block` job.

Severity: passes outside every lead time; WARN inside a lead time (default 7 days, 24 h, 2 h — the
description and `lead_time_crossed_hours` say which); ERROR below `capacity_critical_hours` (default
1 h, strictly below the smallest lead time) — always before AWS's own 40-minute expiration warning,
and before instances start terminating (~30 min before the end).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import dagster as dg

from ml_clusters.capacity.auto_extend import plan_auto_extension
from ml_clusters.capacity.models import iso_utc
from ml_clusters.estate import Estate, Unit
from ml_clusters.resources.aws import describe_aws_error
from ml_clusters.sensors.core import Outcome, ProbeContext, ProbeReport, Slice, md_table, skipped_reason
from ml_clusters.sensors.mapping import CLUSTER_MODULES, direct_dependents, tagged_resources

CHECK_NAME = "capacity_not_expiring"
AREA = "capacity"
CAPACITY_MODULE = "capacity-block"

LIVE_RESERVATION_STATES = {"payment-pending", "payment-failed", "scheduled", "active", "pending", "assessing", "delayed"}
LIVE_PLAN_STATES = {"Pending", "Scheduled", "Active"}


def target_units(estate: Estate) -> list[Unit]:
    return [u for u in estate.units.values() if u.module == CAPACITY_MODULE or u.module in CLUSTER_MODULES]


@dataclass
class Capacity:
    kind: str  # "capacity-block" | "training-plan"
    id: str
    state: str
    end: datetime | None
    start: datetime | None = None
    instance_type: str = "?"
    instance_count: int = 0
    availability_zone: str = "?"
    owner_unit: str | None = None
    hours_left: float | None = None
    tier: str = "ok"  # ok | warn | critical | failed
    extension: str = ""  # the cheapest extension offering, when looked up
    reservation_id: str | None = None
    period: str = ""  # a Training Plan's graded reserved-capacity period, "2/3" (only when it has several)
    periods: list[dict[str, Any]] = field(default_factory=list)  # every reserved period of a Training Plan

    @property
    def label(self) -> str:
        return f"{self.kind} {self.id}" + (f" period {self.period}" if self.period else "")


def _utc(value: Any) -> Any:
    """botocore parses timestamps into the machine's local zone (tzlocal()): compare and print in UTC."""
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else value


def _plan_period(plan: dict[str, Any], now: datetime) -> tuple[int | None, list[dict[str, Any]]]:
    """The reserved-capacity periods of a Training Plan (times in UTC, by start) and the index of the
    one to grade: the Active one (AWS's status, or now inside its window), else the next one to start."""
    periods = sorted(
        (
            {**p, "StartTime": _utc(p.get("StartTime")), "EndTime": _utc(p.get("EndTime"))}
            for p in plan.get("ReservedCapacitySummaries") or []
        ),
        key=lambda p: (p["StartTime"] is None, p["StartTime"] or now),
    )
    for i, p in enumerate(periods):
        start, end = p["StartTime"], p["EndTime"]
        if p.get("Status") == "Active" or (start is not None and end is not None and start <= now < end):
            return i, periods
    upcoming = [i for i, p in enumerate(periods) if p["StartTime"] is not None and p["StartTime"] > now]
    return (upcoming[0] if upcoming else None), periods


# Filtered server-side by state only: `state` is a documented filter of DescribeCapacityReservations,
# the reservation type is not (EC2 may reject an unknown filter name), so that is checked here.
RESERVATION_FILTERS = [{"Name": "state", "Values": sorted(LIVE_RESERVATION_STATES)}]


def _capacity_blocks(ec2: Any) -> list[dict[str, Any]]:
    found = []
    paginator = ec2.get_paginator("describe_capacity_reservations")
    for page in paginator.paginate(Filters=RESERVATION_FILTERS):
        found.extend(r for r in page.get("CapacityReservations", []) if r.get("ReservationType") == "capacity-block")
    return found


def _training_plans(sagemaker: Any) -> list[dict[str, Any]]:
    found = []
    for page in sagemaker.get_paginator("list_training_plans").paginate():
        found.extend(page.get("TrainingPlanSummaries", []))
    return found


def _cheapest_extension(ec2: Any, reservation_id: str, hours: int) -> str:
    offerings = ec2.describe_capacity_block_extension_offerings(
        CapacityReservationId=reservation_id, CapacityBlockExtensionDurationHours=hours
    ).get("CapacityBlockExtensionOfferings", [])
    priced = [o for o in offerings if o.get("UpfrontFee") not in (None, "")]
    if not priced:
        return "no extension offered"
    best = min(priced, key=lambda o: float(o["UpfrontFee"]))
    return (
        f"{best.get('CapacityBlockExtensionDurationHours', hours)} h for {best['UpfrontFee']} "
        f"{best.get('CurrencyCode', 'USD')} (offering {best.get('CapacityBlockExtensionOfferingId', '?')})"
    )


def _lead_time_crossed(hours_left: float, settings: Any) -> float | None:
    """The smallest lead time the capacity is already inside of (None when outside every one)."""
    inside = [lead for lead in settings.capacity_lead_times_hours if hours_left <= lead]
    return min(inside) if inside else None


def _tier(hours_left: float, settings: Any) -> str:
    if hours_left <= settings.capacity_critical_hours:
        return "critical"
    if any(hours_left <= lead for lead in settings.capacity_lead_times_hours):
        return "warn"
    return "ok"


def probe(ctx: ProbeContext, units: Sequence[Unit]) -> ProbeReport:
    report = ProbeReport(CHECK_NAME)
    estate = ctx.estate
    wanted = {u.path for u in units}
    if not wanted:
        return report
    index = ctx.resource_index()
    slices = ctx.slices(units)
    settings = ctx.settings

    extension_requests: list[dg.RunRequest] = []

    def blocks_in(slice_: Slice) -> list[Capacity]:
        ec2 = ctx.client(slice_, "ec2")
        found = []
        for r in _capacity_blocks(ec2):
            state = r.get("State", "?")
            if state not in LIVE_RESERVATION_STATES:
                continue
            # Blocks tagged for auto-extension (ml-clusters capacity-blocks auto-extend) that are due:
            # the capacity plane decides, with its price cap; this sensor only hands them over.
            try:
                request = plan_auto_extension(r, region=slice_.region, now=ctx.now)
            except Exception as error:  # noqa: BLE001 - a bad tag must not cost the whole slice
                report.notes.append(f"auto-extension of {r.get('CapacityReservationId')} not planned: {error}")
                request = None
            if request is not None:
                extension_requests.append(request)
            found.append(
                Capacity(
                    kind="capacity-block",
                    id=r.get("CapacityBlockId") or r["CapacityReservationId"],
                    state=state,
                    end=_utc(r.get("EndDate")),
                    start=_utc(r.get("StartDate")),
                    instance_type=r.get("InstanceType", "?"),
                    instance_count=int(r.get("TotalInstanceCount") or 0),
                    availability_zone=r.get("AvailabilityZone", "?"),
                    owner_unit=index.unit_for(
                        tags=r.get("Tags"), arn=r.get("CapacityReservationArn"), identifiers=[r["CapacityReservationId"]]
                    ),
                    reservation_id=r["CapacityReservationId"],
                )
            )
        _grade(found, settings, ctx.now)
        for capacity in found:
            # Only capacity already inside a lead time is worth one more call per reservation.
            if capacity.tier in {"warn", "critical"} and capacity.state == "active" and capacity.reservation_id:
                try:
                    capacity.extension = _cheapest_extension(ec2, capacity.reservation_id, settings.capacity_extension_hours)
                except Exception as error:  # noqa: BLE001 - the extension lookup is a courtesy
                    capacity.extension = f"extension lookup failed: {describe_aws_error(error)}"
        return found

    def plans_in(slice_: Slice) -> list[Capacity]:
        plans = [p for p in _training_plans(ctx.client(slice_, "sagemaker")) if p.get("Status") in LIVE_PLAN_STATES]
        if plans:  # only then is the tag listing worth a call
            index.add_tagged(tagged_resources(ctx.client(slice_, "resourcegroupstaggingapi"), ["sagemaker:training-plan"]))
        found = []
        for plan in plans:
            # A plan may reserve several periods (Active, back to Scheduled between them): the capacity
            # that ends first is the Active (or next) period, which its own EndTime bounds — not the plan's.
            graded, periods = _plan_period(plan, ctx.now)
            period = periods[graded] if graded is not None else (periods[0] if periods else {})
            end = period.get("EndTime") if graded is not None else None
            start = period.get("StartTime") if graded is not None else None
            found.append(
                Capacity(
                    kind="training-plan",
                    id=plan.get("TrainingPlanName") or plan["TrainingPlanArn"],
                    state=plan.get("Status", "?"),
                    end=end if end is not None else _utc(plan.get("EndTime")),
                    start=start if start is not None else _utc(plan.get("StartTime")),
                    instance_type=str(period.get("InstanceType", "?")),
                    instance_count=int(period.get("TotalInstanceCount") or plan.get("TotalInstanceCount") or 0),
                    availability_zone=str(period.get("AvailabilityZone", "?")),
                    owner_unit=index.unit_for(arn=plan["TrainingPlanArn"], identifiers=[plan.get("TrainingPlanName")]),
                    period=f"{graded + 1}/{len(periods)}" if graded is not None and len(periods) > 1 else "",
                    periods=periods,
                )
            )
        _grade(found, settings, ctx.now)
        return found

    capacities: list[Capacity] = []
    for found in ctx.in_slices(slices, "ec2 capacity blocks", blocks_in, report.skips).values():
        capacities.extend(found)
    if ctx.auto_extend:
        report.run_requests.extend(extension_requests)
    for found in ctx.in_slices(slices, "sagemaker training plans", plans_in, report.skips).values():
        capacities.extend(found)

    # Which units see which capacity: the owner, and the clusters that depend on the owner.
    seen_by: dict[str, list[Capacity]] = {}
    for capacity in capacities:
        if capacity.owner_unit is None:
            report.notes.append(
                f"{capacity.label} ({capacity.availability_zone}) maps to no unit: it has no ml-clusters:unit tag "
                "and no recorded output names it"
            )
            continue
        consumers = [capacity.owner_unit] + [
            u.path for u in direct_dependents(estate, capacity.owner_unit) if u.module in CLUSTER_MODULES
        ]
        for path in consumers:
            seen_by.setdefault(path, []).append(capacity)

    for unit in units:
        # Capacity is regional (AZ-bound): a unit's view is complete when its own slice was read.
        incomplete = skipped_reason(report.skips, ctx.slices([unit]))
        if incomplete:
            report.unknown[unit.path] = incomplete
            continue
        report.outcomes[unit.path], report.observations[unit.path] = _judge(seen_by.get(unit.path, []), settings)
    return report


def _grade(capacities: list[Capacity], settings: Any, now: datetime) -> None:
    for capacity in capacities:
        if capacity.state == "payment-failed":
            capacity.tier = "failed"
        if capacity.end is None:
            continue
        capacity.hours_left = (capacity.end - now).total_seconds() / 3600
        if capacity.tier != "failed":
            capacity.tier = _tier(capacity.hours_left, settings)


def _judge(capacities: list[Capacity], settings: Any) -> tuple[Outcome, dict[str, float | int]]:
    timed = [c for c in capacities if c.hours_left is not None]
    soonest = min(timed, key=lambda c: c.hours_left) if timed else None
    numbers: dict[str, float | int] = {
        "reservations": len(capacities),
        "reserved_instances": sum(c.instance_count for c in capacities),
    }
    if soonest is not None:
        numbers["hours_left_min"] = round(soonest.hours_left, 3)
    if not capacities:
        return Outcome(True, "no Capacity Block or Training Plan is in use by this unit", dict(numbers)), numbers
    table = md_table(
        ["capacity", "state", "hours left", "ends", "instance type", "count", "AZ", "cheapest extension"],
        [
            (
                c.label,
                c.state,
                "?" if c.hours_left is None else f"{c.hours_left:.1f}",
                iso_utc(c.end) if c.end else "?",
                c.instance_type,
                c.instance_count,
                c.availability_zone,
                c.extension or "–",
            )
            for c in sorted(capacities, key=lambda c: (c.hours_left is None, c.hours_left or 0))
        ],
    )
    metadata: dict[str, Any] = {"capacity_table": table, **numbers}
    planned = [c for c in capacities if c.periods]
    if planned:
        metadata["training_plan_periods"] = md_table(
            ["training plan", "period", "status", "starts", "ends", "instance type", "count", "AZ"],
            [
                (
                    c.id,
                    f"{i}/{len(c.periods)}",
                    p.get("Status", "?"),
                    iso_utc(p["StartTime"]) if p.get("StartTime") else "?",
                    iso_utc(p["EndTime"]) if p.get("EndTime") else "?",
                    p.get("InstanceType", "?"),
                    p.get("TotalInstanceCount", "?"),
                    p.get("AvailabilityZone", "?"),
                )
                for c in planned
                for i, p in enumerate(c.periods, start=1)
            ],
        )
    worst = next((c for c in capacities if c.tier == "failed"), None) or soonest
    if worst is not None:
        metadata.update(
            capacity_id=worst.id,
            capacity_kind=worst.kind,
            instance_type=worst.instance_type,
            instance_count=worst.instance_count,
            availability_zone=worst.availability_zone,
        )
        if worst.hours_left is not None:
            metadata["hours_left"] = round(worst.hours_left, 2)
            crossed = _lead_time_crossed(worst.hours_left, settings)
            if crossed is not None:
                metadata["lead_time_crossed_hours"] = crossed
        if worst.extension:
            metadata["cheapest_extension"] = worst.extension
    tiers = {c.tier for c in capacities}
    if "failed" in tiers:
        return Outcome(False, f"{worst.label}: payment failed", metadata), numbers
    if "critical" in tiers:
        description = (
            f"{soonest.label} ends in {soonest.hours_left * 60:.0f} min "
            f"({soonest.instance_count}× {soonest.instance_type} in {soonest.availability_zone}); "
            "instances start terminating ~30 min before the end"
        )
        return Outcome(False, description, metadata, dg.AssetCheckSeverity.ERROR), numbers
    if "warn" in tiers:
        crossed = _lead_time_crossed(soonest.hours_left, settings)
        description = (
            f"{soonest.label} ends in {soonest.hours_left:.1f} h ({soonest.end:%Y-%m-%d %H:%M} UTC), "
            f"inside the {crossed:g} h lead time"
        )
        return Outcome(False, description, metadata, dg.AssetCheckSeverity.WARN), numbers
    description = f"{len(capacities)} reservation(s); the soonest ends in {soonest.hours_left:.1f} h" if soonest else (
        f"{len(capacities)} reservation(s) without an end date"
    )
    return Outcome(True, description, metadata), numbers
