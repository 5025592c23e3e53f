"""The Dagster code location: `defs` for `dagster dev -w workspace.yaml` and `dagster asset ...`.

The live root comes from `ML_CLUSTERS_LIVE_DIR` (default: the repository's terraform/live).
"""

from ml_clusters.build import build_defs
from ml_clusters.estate import load_estate

defs = build_defs(load_estate())
