"""Thresholds of the monitoring sensors: one resource, so they can be set per deployment (dg.EnvVar works)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field, field_validator, model_validator

# AWS sends its EventBridge "Capacity Block Expiration Warning" 40 minutes before the end, and starts
# terminating instances about 30 minutes before. Our critical alert must come earlier than both.
AWS_EXPIRATION_WARNING_HOURS = 40 / 60


class MonitoringSettings(dg.ConfigurableResource):
    """Thresholds shared by the sensors and by the on-demand check executions."""

    rtc_threshold_minutes: float = Field(
        default=15.0, gt=0, description="replication_within_rtc fails when ReplicationLatency exceeds this."
    )
    replication_window_minutes: int = Field(
        default=15, ge=1, description="How far back each replication tick looks at the CloudWatch metrics."
    )
    replication_silence_warns: bool = Field(
        default=True,
        description="A rule without any replication metric in the window makes the check WARN (silence is "
        "not health). Turn off for buckets that sit idle for long stretches, if S3 publishes nothing for them.",
    )
    capacity_lead_times_hours: list[float] = Field(
        default=[168.0, 24.0, 2.0],
        description="capacity_not_expiring warns once the time left falls below any of these.",
    )
    capacity_critical_hours: float = Field(
        default=1.0,
        description="Below this much time left the check fails with ERROR severity. Must be below the "
        "smallest lead time (else that lead time's warning never shows) and above the 40-minute AWS "
        "expiration warning.",
    )
    capacity_extension_hours: int = Field(
        default=24, ge=1, description="Duration asked for when looking up Capacity Block extension offerings."
    )
    state_account_id: str | None = Field(
        default=None,
        description="Account that owns the Terraform state bucket. Default: the account of the estate's "
        "`tfstate` unit.",
    )
    max_parallel_slices: int = Field(default=8, ge=1, description="Account/region slices probed concurrently.")

    @field_validator("capacity_lead_times_hours")
    @classmethod
    def _positive_lead_times(cls, value: list[float]) -> list[float]:
        if not value or any(v <= 0 for v in value):
            raise ValueError("capacity_lead_times_hours needs at least one positive number of hours")
        return sorted(value, reverse=True)

    @model_validator(mode="after")
    def _critical_before_aws_warning(self) -> "MonitoringSettings":
        if self.capacity_critical_hours <= AWS_EXPIRATION_WARNING_HOURS:
            raise ValueError(
                f"capacity_critical_hours={self.capacity_critical_hours} must be above "
                f"{AWS_EXPIRATION_WARNING_HOURS:.2f} h (the 40-minute AWS expiration warning)"
            )
        smallest = min(self.capacity_lead_times_hours)
        if self.capacity_critical_hours >= smallest:
            raise ValueError(
                f"capacity_critical_hours={self.capacity_critical_hours} must be below the smallest lead time "
                f"({smallest} h), else the {smallest} h warning never shows"
            )
        return self
