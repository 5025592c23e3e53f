"""What the capacity APIs return, reduced to the fields people decide on.

Records are plain frozen dataclasses built from API responses (`from_api`) and turned into JSON-safe dicts
(`to_json`) for `--output json`, the remembered-offerings file and asset-observation metadata.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, get_args, get_type_hints


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_fee(value: Any) -> Decimal | None:
    """The API's UpfrontFee string as a Decimal; None when absent or not a number (an unclear price)."""
    if value is None or value == "":
        return None
    try:
        fee = Decimal(str(value))
    except InvalidOperation:
        return None
    return fee if fee.is_finite() and fee >= 0 else None


def money(fee: Decimal | None, currency: str | None) -> str:
    if fee is None:
        return "unknown"
    return f"{fee:,.2f} {currency or ''}".strip()


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 1)


def iso_utc(value: datetime) -> str:
    """The one date style of capacity JSON and metadata: ISO 8601 with `Z`, e.g. 2026-03-03T15:00:00Z."""
    return value.isoformat().replace("+00:00", "Z")


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value):
        return {f.name: _json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class Record:
    def to_json(self) -> dict[str, Any]:
        return _json(self)


class Query:
    """JSON round trip for the frozen query dataclasses (`blocks.BlockQuery`, `plans.PlanQuery`): what `search`
    remembers so `purchase` can look the offering up again. Datetimes travel as ISO strings; int fields are
    read back as ints; a field with a default may be absent."""

    def to_json(self) -> dict[str, Any]:
        return {f.name: _iso(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]):
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in d and f.default is not dataclasses.MISSING:
                continue
            values[f.name] = _from_iso(d[f.name], set(get_args(hints[f.name])) or {hints[f.name]})
        return cls(**values)


def _iso(value: Any) -> Any:
    return iso_utc(value) if isinstance(value, datetime) else value


def _from_iso(value: Any, kinds: set) -> Any:
    if value is None or (value == "" and type(None) in kinds):
        return None
    if datetime in kinds:
        return utc(datetime.fromisoformat(value))
    if int in kinds:
        return int(value)
    return value


def tags_dict(tags: Any) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or () if "Key" in t}


@dataclass(frozen=True)
class BlockOffering(Record):
    """One EC2 Capacity Block offering (describe_capacity_block_offerings)."""

    offering_id: str
    instance_type: str
    instance_count: int
    availability_zone: str
    start: datetime | None
    end: datetime | None
    duration_hours: int | None
    upfront_fee: Decimal | None
    currency: str | None
    ultraserver_type: str | None = None

    @classmethod
    def from_api(cls, o: Mapping[str, Any]) -> "BlockOffering":
        return cls(
            offering_id=o["CapacityBlockOfferingId"],
            instance_type=o.get("InstanceType", ""),
            instance_count=int(o.get("InstanceCount", 0)),
            availability_zone=o.get("AvailabilityZone", ""),
            start=utc(o.get("StartDate")),
            end=utc(o.get("EndDate")),
            duration_hours=o.get("CapacityBlockDurationHours"),
            upfront_fee=parse_fee(o.get("UpfrontFee")),
            currency=o.get("CurrencyCode"),
            ultraserver_type=o.get("UltraserverType"),
        )


@dataclass(frozen=True)
class ExtensionOffering(Record):
    """One way to extend a Capacity Block (describe_capacity_block_extension_offerings)."""

    offering_id: str
    reservation_id: str
    instance_type: str
    instance_count: int
    availability_zone: str
    start: datetime | None  # when the extension starts (the block's current end)
    end: datetime | None  # the block's new end
    duration_hours: int | None
    upfront_fee: Decimal | None
    currency: str | None

    @classmethod
    def from_api(cls, o: Mapping[str, Any], reservation_id: str) -> "ExtensionOffering":
        return cls(
            offering_id=o["CapacityBlockExtensionOfferingId"],
            reservation_id=reservation_id,
            instance_type=o.get("InstanceType", ""),
            instance_count=int(o.get("InstanceCount", 0)),
            availability_zone=o.get("AvailabilityZone", ""),
            start=utc(o.get("CapacityBlockExtensionStartDate")),
            end=utc(o.get("CapacityBlockExtensionEndDate")),
            duration_hours=o.get("CapacityBlockExtensionDurationHours"),
            upfront_fee=parse_fee(o.get("UpfrontFee")),
            currency=o.get("CurrencyCode"),
        )


@dataclass(frozen=True)
class Reservation(Record):
    """A Capacity Block as its Capacity Reservation (describe_capacity_reservations / purchase_capacity_block)."""

    reservation_id: str
    capacity_block_id: str | None
    state: str
    availability_zone: str
    instance_type: str
    total_instances: int | None
    available_instances: int | None
    start: datetime | None
    end: datetime | None
    owner_id: str | None = None
    arn: str | None = None
    reservation_type: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, r: Mapping[str, Any]) -> "Reservation":
        return cls(
            reservation_id=r["CapacityReservationId"],
            capacity_block_id=r.get("CapacityBlockId"),
            state=r.get("State", "unknown"),
            availability_zone=r.get("AvailabilityZone", ""),
            instance_type=r.get("InstanceType", ""),
            total_instances=r.get("TotalInstanceCount"),
            available_instances=r.get("AvailableInstanceCount"),
            start=utc(r.get("StartDate")),
            end=utc(r.get("EndDate")),
            owner_id=r.get("OwnerId"),
            arn=r.get("CapacityReservationArn"),
            reservation_type=r.get("ReservationType"),
            tags=tags_dict(r.get("Tags")),
        )

    def hours_left(self, now: datetime) -> float | None:
        if self.end is None:
            return None
        return max(0.0, round((self.end - now).total_seconds() / 3600, 1))


@dataclass(frozen=True)
class Extension(Record):
    """A purchased extension (purchase_capacity_block_extension)."""

    reservation_id: str
    offering_id: str | None
    status: str | None
    duration_hours: int | None
    start: datetime | None
    end: datetime | None
    upfront_fee: Decimal | None
    currency: str | None

    @classmethod
    def from_api(cls, e: Mapping[str, Any]) -> "Extension":
        return cls(
            reservation_id=e.get("CapacityReservationId", ""),
            offering_id=e.get("CapacityBlockExtensionOfferingId"),
            status=e.get("CapacityBlockExtensionStatus"),
            duration_hours=e.get("CapacityBlockExtensionDurationHours"),
            start=utc(e.get("CapacityBlockExtensionStartDate")),
            end=utc(e.get("CapacityBlockExtensionEndDate")),
            upfront_fee=parse_fee(e.get("UpfrontFee")),
            currency=e.get("CurrencyCode"),
        )


@dataclass(frozen=True)
class PlanSegment(Record):
    """One reserved-capacity block a training-plan offering (or plan) is made of: an AZ and a time window."""

    instance_type: str
    instance_count: int
    availability_zone: str | None
    start: datetime | None
    end: datetime | None
    duration_hours: int | None
    status: str | None = None  # plans only
    arn: str | None = None  # plans only

    @classmethod
    def from_offering(cls, o: Mapping[str, Any]) -> "PlanSegment":
        return cls(
            instance_type=o.get("InstanceType", ""),
            instance_count=int(o.get("InstanceCount", 0)),
            availability_zone=o.get("AvailabilityZone"),
            start=utc(o.get("StartTime")),
            end=utc(o.get("EndTime")),
            duration_hours=o.get("DurationHours"),
        )

    @classmethod
    def from_summary(cls, s: Mapping[str, Any]) -> "PlanSegment":
        return cls(
            instance_type=s.get("InstanceType", ""),
            instance_count=int(s.get("TotalInstanceCount", 0)),
            availability_zone=s.get("AvailabilityZone"),
            start=utc(s.get("StartTime")),
            end=utc(s.get("EndTime")),
            duration_hours=s.get("DurationHours"),
            status=s.get("Status"),
            arn=s.get("ReservedCapacityArn"),
        )


@dataclass(frozen=True)
class PlanOffering(Record):
    """A SageMaker training-plan offering; AWS may split it into several reserved blocks (segments)."""

    offering_id: str
    target_resources: tuple[str, ...]
    duration_hours: int | None
    upfront_fee: Decimal | None
    currency: str | None
    segments: tuple[PlanSegment, ...]

    @classmethod
    def from_api(cls, o: Mapping[str, Any]) -> "PlanOffering":
        return cls(
            offering_id=o["TrainingPlanOfferingId"],
            target_resources=tuple(o.get("TargetResources", ())),
            duration_hours=o.get("DurationHours"),
            upfront_fee=parse_fee(o.get("UpfrontFee")),
            currency=o.get("CurrencyCode"),
            segments=tuple(PlanSegment.from_offering(s) for s in o.get("ReservedCapacityOfferings", ())),
        )

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.availability_zone for s in self.segments if s.availability_zone))

    @property
    def start(self) -> datetime | None:
        starts = [s.start for s in self.segments if s.start]
        return min(starts) if starts else None

    @property
    def end(self) -> datetime | None:
        ends = [s.end for s in self.segments if s.end]
        return max(ends) if ends else None


@dataclass(frozen=True)
class TrainingPlan(Record):
    """A training plan (list_training_plans / describe_training_plan)."""

    name: str
    arn: str
    status: str
    status_message: str | None
    start: datetime | None
    end: datetime | None
    duration_hours: int | None
    upfront_fee: Decimal | None
    currency: str | None
    total_instances: int | None
    available_instances: int | None
    in_use_instances: int | None
    unhealthy_instances: int | None  # describe only
    target_resources: tuple[str, ...]
    segments: tuple[PlanSegment, ...]

    @classmethod
    def from_api(cls, p: Mapping[str, Any]) -> "TrainingPlan":
        return cls(
            name=p["TrainingPlanName"],
            arn=p["TrainingPlanArn"],
            status=p.get("Status", "unknown"),
            status_message=p.get("StatusMessage"),
            start=utc(p.get("StartTime")),
            end=utc(p.get("EndTime")),
            duration_hours=p.get("DurationHours"),
            upfront_fee=parse_fee(p.get("UpfrontFee")),
            currency=p.get("CurrencyCode"),
            total_instances=p.get("TotalInstanceCount"),
            available_instances=p.get("AvailableInstanceCount"),
            in_use_instances=p.get("InUseInstanceCount"),
            unhealthy_instances=p.get("UnhealthyInstanceCount"),
            target_resources=tuple(p.get("TargetResources", ())),
            segments=tuple(PlanSegment.from_summary(s) for s in p.get("ReservedCapacitySummaries", ())),
        )

    @property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.availability_zone for s in self.segments if s.availability_zone))

    @property
    def instance_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.instance_type for s in self.segments if s.instance_type))
