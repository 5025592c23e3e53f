"""Code location loaded by the real `dagster-daemon` in test_daemon.py: the product's own assembly
(`build_defs`) over the real estate. AWS settings come from the environment (the emulator)."""

from ml_clusters.build import build_defs
from ml_clusters.estate import default_live_dir, load_estate

defs = build_defs(load_estate(default_live_dir()))
