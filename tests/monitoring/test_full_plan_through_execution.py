"""The full plan end to end: the execution plane's plan mode (in-process, against the terragrunt
double) records its plan observations, and plan_drift_sensor turns them into no_drift."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.estate import load_estate
from ml_clusters.resources.terragrunt import TerragruntCli
from ml_clusters.sensors.drift import PLAN_RUN_CONFIG, build_plan_drift_sensor
from ml_clusters.translator import TerragruntTranslator
from tests.execution.double import SMALL_LIVE, TerragruntDouble
from tests.monitoring.helpers import evaluations

STORAGE, KMS = "acme/us-east-1/storage", "acme/us-east-1/kms"


@pytest.fixture
def double(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TerragruntDouble:
    fake = TerragruntDouble.create(tmp_path)
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ML_CLUSTERS_PLAN_DIR", str(tmp_path / "plans"))
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "estate-cache"))
    monkeypatch.delenv("ML_CLUSTERS_TF_PATH", raising=False)
    return fake


def test_a_planned_drift_fails_no_drift_on_that_unit_only(double, instance):
    estate = load_estate(SMALL_LIVE, cache=False)
    translator = TerragruntTranslator()
    drifted = {"address": "aws_s3_bucket.this", "type": "aws_s3_bucket", "actions": ["update"]}
    double.script({STORAGE: {"drift": [drifted], "changes": [dict(drifted)]}})

    (assets,) = build_unit_defs(estate, translator).assets
    result = dg.materialize(
        [assets],
        resources={"terragrunt": TerragruntCli(lock_timeout="0s", lock_retry_backoff_seconds=0.01)},
        instance=instance,
        run_config=PLAN_RUN_CONFIG,  # exactly what daily_full_plan sends
        raise_on_error=False,
    )
    assert result.success

    sensor = build_plan_drift_sensor(
        estate, translator, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED
    )
    checks = evaluations(sensor(dg.build_sensor_context(instance=instance, sensor_name=sensor.name)))
    assert not checks[STORAGE].passed and checks[STORAGE].severity == dg.AssetCheckSeverity.ERROR
    assert "plan found drift in 1 resource(s)" in checks[STORAGE].description
    assert checks[KMS].passed and checks[KMS].description == "plan: no changes"
