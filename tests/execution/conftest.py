from __future__ import annotations

from pathlib import Path

import pytest

from ml_clusters.estate import load_estate

from .double import SMALL_LIVE, TerragruntDouble


@pytest.fixture
def double(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TerragruntDouble:
    """The terragrunt double on ML_CLUSTERS_TERRAGRUNT, plans under tmp, no stray env from the caller."""
    fake = TerragruntDouble.create(tmp_path)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ML_CLUSTERS_PLAN_DIR", str(tmp_path / "plans"))
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "estate-cache"))
    monkeypatch.delenv("ML_CLUSTERS_TF_PATH", raising=False)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    return fake


@pytest.fixture(scope="session")
def small_estate():
    return load_estate(SMALL_LIVE, cache=False)
