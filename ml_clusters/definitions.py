"""The Dagster code location: `defs` for `dagster dev -w workspace.yaml` and `dagster asset ...`.

The live root comes from `ML_CLUSTERS_LIVE_DIR` (default: the repository's terraform/live).
"""

from ml_clusters.build import build_defs
from ml_clusters.estate import EstateError, load_estate

try:
    estate = load_estate()
except EstateError as error:
    # One line naming the file and the cause, instead of a stack trace through the reader.
    raise SystemExit(f"ml-clusters: the live tree cannot be read: {error}") from None

defs = build_defs(estate)
