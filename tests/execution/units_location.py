"""A code location holding only the product's unit assets, for `dagster asset materialize -f` in tests.

The estate comes from ML_CLUSTERS_LIVE_DIR (the tests point it at a fixture live tree), exactly as in
ml_clusters.definitions, but without the other areas' definitions.
"""

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.estate import load_estate
from ml_clusters.translator import TerragruntTranslator

defs = build_unit_defs(load_estate(), TerragruntTranslator())
