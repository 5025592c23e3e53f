"""Assemble the Dagster Definitions for an estate (kept apart from definitions.py, which loads the
configured live tree at import time)."""

from __future__ import annotations

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
        build_monitoring_defs(estate, translator),
        build_capacity_defs(estate, translator),
    )
