"""Automatic extension of Capacity Blocks — off unless turned on per reservation, with a price cap.

Turn it on with `ml-clusters capacity-blocks auto-extend cr-... --hours 24 --max-price 5000`, which tags
the reservation:
    ml-clusters:auto-extend-hours      = 24
    ml-clusters:auto-extend-max-price  = 5000      (required: without a cap it stays off)
    ml-clusters:auto-extend-lead-hours = 6         (optional: how long before the end to extend)
The capacity-expiry sensor hands each reservation it sees to `plan_auto_extension`, which returns a
RunRequest for the `extend_capacity_block` job when an active block is due, or None. The job refuses any
extension offering above the cap, so the cap holds even when the price moves after the request.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Mapping

from pydantic import BaseModel, Field, ValidationError, model_validator

from ml_clusters.capacity import clock, tags
from ml_clusters.capacity.models import Reservation

if TYPE_CHECKING:
    import dagster as dg


EXTEND_JOB_NAME = "extend_capacity_block"
EXTEND_OP_NAME = "extend_capacity_block_op"

TAG_HOURS = tags.AUTO_EXTEND_HOURS
TAG_MAX_PRICE = tags.AUTO_EXTEND_MAX_PRICE
TAG_LEAD_HOURS = tags.AUTO_EXTEND_LEAD_HOURS

DEFAULT_LEAD_HOURS = 6.0
_ARN_REGION = re.compile(r"^arn:[^:]+:ec2:([a-z0-9-]+):")


class AutoExtendSettings(BaseModel):
    """Per-reservation auto-extension settings. Off by default; turning it on requires `max_price`."""

    enabled: bool = False
    hours: int = Field(24, ge=1, description="hours to extend by each time")
    max_price: Decimal | None = Field(None, gt=0, description="highest upfront fee to pay per extension")
    lead_hours: float = Field(DEFAULT_LEAD_HOURS, gt=0, description="extend once the block has this little left")

    @model_validator(mode="after")
    def _cap_required(self) -> "AutoExtendSettings":
        if self.enabled and self.max_price is None:
            raise ValueError("auto-extension needs a price cap: set max_price")
        if self.enabled and not (math.isfinite(self.lead_hours) and self.lead_hours <= self.hours):
            # With a lead time longer than the extension, the extended block would be due again at once
            # (its new end is another run key) and be extended over and over, each time within the cap.
            raise ValueError(f"lead_hours {self.lead_hours:g} must not exceed hours {self.hours}: the block would "
                             "be due again right after each extension")
        return self

    @classmethod
    def from_tags(cls, tags: Mapping[str, str] | None) -> "AutoExtendSettings":
        """Settings stored on the reservation's tags. Missing or malformed tags mean: off."""
        tags = tags or {}
        if TAG_HOURS not in tags or TAG_MAX_PRICE not in tags:
            return cls()
        try:
            return cls(enabled=True, hours=int(tags[TAG_HOURS]), max_price=Decimal(tags[TAG_MAX_PRICE]),
                       lead_hours=float(tags.get(TAG_LEAD_HOURS, DEFAULT_LEAD_HOURS)))
        except (ValueError, InvalidOperation, ValidationError):
            return cls()

    def to_tags(self) -> dict[str, str]:
        if not self.enabled:
            return {}
        cap = f"{self.max_price.normalize():f}" if self.max_price is not None else ""
        return {TAG_HOURS: str(self.hours), TAG_MAX_PRICE: cap, TAG_LEAD_HOURS: f"{self.lead_hours:g}"}


def region_of(reservation: Reservation) -> str | None:
    if reservation.arn and (m := _ARN_REGION.match(reservation.arn)):
        return m.group(1)
    az = reservation.availability_zone
    return az[:-1] if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", az or "") else None


def extend_run_config(*, reservation_id: str, hours: int, max_price: Decimal, account: str, region: str,
                      cluster: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"reservation_id": reservation_id, "hours": hours, "max_price": float(max_price),
                              "account": account, "region": region}
    if cluster:
        config["cluster"] = cluster
    return {"ops": {EXTEND_OP_NAME: {"config": config}}}


def plan_auto_extension(reservation: Mapping[str, Any] | Reservation, settings: AutoExtendSettings | None = None,
                        *, region: str | None = None, now: datetime | None = None) -> dg.RunRequest | None:
    """A RunRequest for `extend_capacity_block` when `reservation` is due for auto-extension, else None.

    `reservation`: an item of describe_capacity_reservations' CapacityReservations (or a `Reservation`).
    `settings`: defaults to the reservation's tags (`AutoExtendSettings.from_tags`).
    The run key holds the reservation's current end, so each end date triggers at most one extension.
    """
    res = reservation if isinstance(reservation, Reservation) else Reservation.from_api(reservation)
    settings = settings if settings is not None else AutoExtendSettings.from_tags(res.tags)
    if not settings.enabled or settings.max_price is None:
        return None
    if res.state != "active" or res.end is None:  # only running blocks are extended automatically
        return None
    if res.reservation_type not in (None, "capacity-block"):
        return None
    hours_left = (res.end - (now or clock.now())).total_seconds() / 3600
    if hours_left <= 0 or hours_left > settings.lead_hours:
        return None
    region = region or region_of(res)
    if not region or not res.owner_id:
        return None
    end = res.end.strftime("%Y%m%dT%H%M%SZ")
    import dagster as dg

    return dg.RunRequest(
        run_key=f"{EXTEND_JOB_NAME}:{res.reservation_id}:{end}",
        job_name=EXTEND_JOB_NAME,
        run_config=extend_run_config(reservation_id=res.reservation_id, hours=settings.hours,
                                     max_price=settings.max_price, account=res.owner_id, region=region,
                                     cluster=res.tags.get(tags.UNIT)),
        tags={"ml-clusters/capacity-reservation": res.reservation_id, "ml-clusters/trigger": "auto-extension"},
    )
