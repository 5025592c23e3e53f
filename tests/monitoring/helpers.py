"""Driving sensors in tests: one tick as the daemon would run it, and reading what it reported."""

from __future__ import annotations


from typing import Any

import dagster as dg

from ml_clusters.resources.aws import AwsAccounts
from ml_clusters.sensors.settings import MonitoringSettings


def tick(
    defs: dg.Definitions,
    name: str,
    instance: dg.DagsterInstance,
    cursor: str | None = None,
    aws: AwsAccounts | None = None,
    settings: MonitoringSettings | None = None,
) -> dg.SensorResult:
    """Evaluate one tick of a sensor exactly as the daemon would call it."""
    sensor = defs.resolve_sensor_def(name)
    resources = dict(defs.resources or {})
    if aws is not None:
        resources["aws_accounts"] = aws
    if settings is not None:
        resources["monitoring_settings"] = settings
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources, sensor_name=name)
    result = sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def evaluations(result: dg.SensorResult) -> dict[str, dg.AssetCheckEvaluation]:
    """unit path → check evaluation reported by this tick."""
    return {
        "/".join(e.asset_key.path): e for e in result.asset_events or [] if isinstance(e, dg.AssetCheckEvaluation)
    }


def observations(result: dg.SensorResult) -> dict[str, dict]:
    return {
        "/".join(e.asset_key.path): {k: getattr(v, "value", v) for k, v in e.metadata.items()}
        for e in result.asset_events or []
        if isinstance(e, dg.AssetObservation)
    }


def monitoring_defs(estate: Any, translator: Any, **kwargs: Any) -> dg.Definitions:
    """The monitoring definitions beside the capacity plane's (its extend job is a sensor target)."""
    from ml_clusters.capacity.defs import build_capacity_defs
    from ml_clusters.sensors import build_monitoring_defs

    return dg.Definitions.merge(build_monitoring_defs(estate, translator, **kwargs), build_capacity_defs(estate, translator))
