"""The monitoring plane: sensors that watch what Terraform cannot see, reporting on the unit assets.

    defs = build_monitoring_defs(estate, TerragruntTranslator())

| sensor | check | default interval |
|---|---|---|
| replication_lag_sensor | replication_within_rtc | 5 min |
| capacity_expiry_sensor | capacity_not_expiring | 10 min |
| cluster_health_sensor | cluster_healthy | 5 min |
| drift_sensor (fast probe) | no_drift | 10 min |
| daily_full_plan (schedule) + plan_drift_sensor | no_drift | 05:00 UTC / 2 min |

Every check is also declared as an asset check (a subsettable multi-asset check running the same
probe), so it shows on the asset page and can be executed on demand from the UI.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg

from ml_clusters.capacity.auto_extend import EXTEND_JOB_NAME
from ml_clusters.estate import Estate
from ml_clusters.resources.aws import AwsAccounts
from ml_clusters.sensors import capacity, drift, health, replication
from ml_clusters.sensors.core import (
    AWS_RESOURCE_KEY,
    SETTINGS_RESOURCE_KEY,
    Clock,
    Probe,
    build_probe_check,
    build_probe_sensor,
    utcnow,
)
from ml_clusters.sensors.settings import MonitoringSettings

__all__ = ["AwsAccounts", "MonitoringSettings", "SensorSpec", "build_monitoring_defs", "SENSOR_SPECS"]


@dataclass(frozen=True)
class SensorSpec:
    name: str
    check_name: str
    area: str
    probe: Probe
    target_units: Any  # Estate → list[Unit]
    interval_seconds: int
    description: str
    requests_runs: bool = False  # plan-mode runs of the unit assets
    requests_extensions: bool = False  # the capacity plane's extend_capacity_block job


SENSOR_SPECS: tuple[SensorSpec, ...] = (
    SensorSpec(
        "replication_lag_sensor",
        replication.CHECK_NAME,
        replication.AREA,
        replication.probe,
        replication.target_units,
        300,
        "S3 replication per rule (CloudWatch AWS/S3 latency, pending and failed operations) against the RTC threshold.",
    ),
    SensorSpec(
        "capacity_expiry_sensor",
        capacity.CHECK_NAME,
        capacity.AREA,
        capacity.probe,
        capacity.target_units,
        600,
        "EC2 Capacity Blocks and SageMaker Training Plans running out (lead times 7 d / 24 h / 2 h).",
        requests_extensions=True,
    ),
    SensorSpec(
        "cluster_health_sensor",
        health.CHECK_NAME,
        health.AREA,
        health.probe,
        health.target_units,
        300,
        "EKS clusters and node groups, HyperPod clusters and nodes, ParallelCluster, FSx lifecycle.",
    ),
    SensorSpec(
        "drift_sensor",
        drift.CHECK_NAME,
        drift.AREA,
        drift.probe,
        drift.target_units,
        600,
        "Fast drift probe: Terraform state vs the live API for a curated attribute set; requests a plan on suspicion.",
        requests_runs=True,
    ),
)

CHECK_DESCRIPTIONS = {
    replication.CHECK_NAME: "Every replication rule into/out of this unit is within the RTC threshold, with no failed operations.",
    capacity.CHECK_NAME: "No Capacity Block or Training Plan used by this unit ends within the lead times.",
    health.CHECK_NAME: "The unit's clusters, node groups, nodes and file systems report a healthy status.",
    drift.CHECK_NAME: "Live infrastructure matches the unit's Terraform state (fast probe) and its last full plan.",
}


def build_monitoring_defs(
    estate: Estate,
    translator: Any,
    *,
    aws: AwsAccounts | None = None,
    settings: MonitoringSettings | None = None,
    intervals: Mapping[str, int] | None = None,
    full_plan_cron: str = "0 5 * * *",
    plan_drift_interval_seconds: int = 120,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
    capacity_extension_job: str | None = EXTEND_JOB_NAME,
    clock: Clock = utcnow,
) -> dg.Definitions:
    """Sensors, the full-plan schedule, the declared checks, and the two resources they need.

    `intervals` overrides a sensor's minimum interval by name; `default_status` applies to every
    sensor and to the schedule (RUNNING: on as soon as the daemon loads the code location).
    `capacity_extension_job`: the capacity plane's job the capacity sensor may request for blocks
    tagged for auto-extension (it must be in the same code location, as `build_defs` arranges);
    None when these definitions are used without the capacity plane.
    `clock` is the time the probes judge against (tests and replays pass their own).
    """
    intervals = dict(intervals or {})
    unknown = set(intervals) - {s.name for s in SENSOR_SPECS}
    if unknown:
        raise ValueError(f"unknown sensor name(s) in intervals: {', '.join(sorted(unknown))}")
    sensors: list[dg.SensorDefinition] = []
    checks: list[dg.AssetChecksDefinition] = []
    for spec in SENSOR_SPECS:
        units = spec.target_units(estate)
        if not units:
            continue
        target = drift.plan_selection([translator.get_asset_key(u) for u in units]) if spec.requests_runs else None
        sensors.append(
            build_probe_sensor(
                name=spec.name,
                area=spec.area,
                probe=spec.probe,
                estate=estate,
                translator=translator,
                units=units,
                minimum_interval_seconds=intervals.get(spec.name, spec.interval_seconds),
                default_status=default_status,
                description=spec.description,
                target=target,
                job_name=capacity_extension_job if spec.requests_extensions else None,
                clock=clock,
            )
        )
        check = build_probe_check(
            check_name=spec.check_name,
            probe=spec.probe,
            estate=estate,
            translator=translator,
            units=units,
            description=CHECK_DESCRIPTIONS[spec.check_name],
            clock=clock,
        )
        if check is not None:
            checks.append(check)
    schedule_status = (
        dg.DefaultScheduleStatus.RUNNING if default_status == dg.DefaultSensorStatus.RUNNING else dg.DefaultScheduleStatus.STOPPED
    )
    schedules = []
    if drift.target_units(estate):
        schedules.append(
            drift.build_full_plan_schedule(estate, translator, cron_schedule=full_plan_cron, default_status=schedule_status)
        )
        sensors.append(
            drift.build_plan_drift_sensor(
                estate, translator, minimum_interval_seconds=plan_drift_interval_seconds, default_status=default_status
            )
        )
    return dg.Definitions(
        sensors=sensors,
        schedules=schedules,
        asset_checks=checks,
        resources={
            AWS_RESOURCE_KEY: aws or AwsAccounts(),
            SETTINGS_RESOURCE_KEY: settings or MonitoringSettings(),
        },
    )
