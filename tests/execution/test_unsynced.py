"""A unit whose code changed since its last apply shows as unsynced (Dagster's code-version staleness)."""

import shutil
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.estate import load_estate
from ml_clusters.resources.terragrunt import TerragruntCli
from ml_clusters.translator import TerragruntTranslator

from .double import SMALL_LIVE

STORAGE = "acme/us-east-1/storage"


def stale_status(estate, instance, path: str) -> StaleStatus:
    # The resolver behind the UI's "Unsynced" badge (Dagster's own test helper builds it).
    (assets,) = build_unit_defs(estate, TerragruntTranslator()).assets
    return get_stale_status_resolver(instance, [assets]).get_status(dg.AssetKey(path.split("/")))


def test_editing_a_module_marks_the_applied_unit_unsynced(double, tmp_path: Path):
    shutil.copytree(SMALL_LIVE.parent, tmp_path / "estate")
    live = tmp_path / "estate" / SMALL_LIVE.name
    estate = load_estate(live, cache=False)
    (assets,) = build_unit_defs(estate, TerragruntTranslator()).assets
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [assets],
            resources={"terragrunt": TerragruntCli(lock_timeout="0s")},
            instance=instance,
            selection=[dg.AssetKey(STORAGE.split("/"))],
            run_config={"ops": {"terragrunt_units": {"config": {"mode": "apply"}}}},
        )
        assert result.success
        assert stale_status(estate, instance, STORAGE) == StaleStatus.FRESH

        module_dir = estate.units[STORAGE].module_dir
        main_tf = module_dir / "main.tf"
        main_tf.write_text(main_tf.read_text() + "\n# tuned throughput\n")
        edited = load_estate(live, cache=False)
        assert edited.units[STORAGE].content_hash != estate.units[STORAGE].content_hash
        assert stale_status(edited, instance, STORAGE) == StaleStatus.STALE
