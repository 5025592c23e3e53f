"""Test-only (tests/capacity puts this directory on PYTHONPATH for `ml-clusters` subprocesses):
when ML_CLUSTERS_TEST_STUBS names a scenario file, the capacity commands get Stubber-wrapped clients."""

import os

if os.environ.get("ML_CLUSTERS_TEST_STUBS") or os.environ.get("ML_CLUSTERS_TEST_NOW"):
    import capacity_stubs

    capacity_stubs.install_from_env()
