"""The Dagster code location: `defs` for `dagster dev -w workspace.yaml` and `dagster asset ...`.

The live root comes from `ML_CLUSTERS_LIVE_DIR` (default: the repository's terraform/live).
"""

from __future__ import annotations

import dagster as dg

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.capacity.defs import build_capacity_defs
from ml_clusters.estate import Estate, load_estate
from ml_clusters.sensors import build_monitoring_defs
from ml_clusters.translator import TerragruntTranslator


def build_defs(estate: Estate, translator: TerragruntTranslator | None = None) -> dg.Definitions:
    translator = translator or TerragruntTranslator()
    return dg.Definitions.merge(
        build_unit_defs(estate, translator),
        build_monitoring_defs(estate, translator),
        build_capacity_defs(estate, translator),
    )


defs = build_defs(load_estate())
