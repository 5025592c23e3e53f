"""Assemble the Dagster Definitions for an estate (kept apart from definitions.py, which loads the
configured live tree at import time)."""

from __future__ import annotations

import os

import dagster as dg

from ml_clusters.estate import Estate
from ml_clusters.translator import TerragruntTranslator


def build_defs(estate: Estate, translator: TerragruntTranslator | None = None) -> dg.Definitions:
    """Every unit as an asset, plus the monitoring plane and capacity management over the same estate."""
    from ml_clusters.assets.terragrunt_units import build_unit_defs
    from ml_clusters.capacity.defs import build_capacity_defs
    from ml_clusters.sensors import build_monitoring_defs

    translator = translator or TerragruntTranslator()
    return dg.Definitions.merge(
        build_unit_defs(estate, translator),
        build_monitoring_defs(estate, translator, intervals=sensor_intervals_from_env()),
        build_capacity_defs(estate, translator),
    )


def sensor_intervals_from_env() -> dict[str, int]:
    """`ML_CLUSTERS_SENSOR_INTERVAL_SECONDS=N` runs every monitoring sensor every N seconds (the demo
    uses 60 so its plots grow by the minute); unset, each sensor keeps its own default."""
    from ml_clusters.sensors import SENSOR_SPECS

    raw = os.environ.get("ML_CLUSTERS_SENSOR_INTERVAL_SECONDS", "").strip()
    if not raw:
        return {}
    try:
        seconds = int(raw)
        if seconds < 5:
            raise ValueError
    except ValueError:
        raise SystemExit(f"ml-clusters: ML_CLUSTERS_SENSOR_INTERVAL_SECONDS must be a whole number >= 5, not {raw!r}") from None
    return {spec.name: seconds for spec in SENSOR_SPECS}
