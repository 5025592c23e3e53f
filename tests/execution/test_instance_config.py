"""The dagster.yaml that keeps two runs from running Terragrunt at once: the sandbox's and the documented one."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import dagster as dg
import yaml

from ml_clusters.assets.terragrunt_units import TERRAGRUNT_POOL, build_unit_defs
from ml_clusters.sandbox.sandbox import write_instance_config
from ml_clusters.translator import TerragruntTranslator

from .double import REPO

DOCS = REPO / "docs" / "readme" / "execution.md"


def claim(instance: dg.DagsterInstance, step: str) -> bool:
    """Claim a `terragrunt` pool slot the way a step of a new run does; True if granted."""
    status = instance.event_log_storage.claim_concurrency_slot(TERRAGRUNT_POOL, str(uuid.uuid4()), step)
    return status.is_claimed


def test_the_sandbox_instance_limits_the_terragrunt_pool_to_one_step(tmp_path: Path):
    write_instance_config(tmp_path)
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # Dagster validates the file here
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.run_queue_config.max_concurrent_runs == 2  # the sandbox still runs two runs at once
        assert instance.event_log_storage.initialize_concurrency_limit_to_default(TERRAGRUNT_POOL)
        assert instance.event_log_storage.get_concurrency_info(TERRAGRUNT_POOL).slot_count == 1
        assert claim(instance, "terragrunt_units")
        assert not claim(instance, "terragrunt_units")  # a second run's step waits for the slot


def test_the_units_step_is_in_the_pool_whatever_launches_it(small_estate):
    (assets,) = build_unit_defs(small_estate, TerragruntTranslator()).assets
    # The pool is on the op itself, so the Materialize button (no job tags) is covered as well.
    assert assets.op.pool == TERRAGRUNT_POOL


def test_the_documented_dagster_yaml_is_the_sandbox_one_and_loads(tmp_path: Path):
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    documented = next(yaml.safe_load(b) for b in blocks if "concurrency" in (yaml.safe_load(b) or {}))
    (tmp_path / "sandbox").mkdir()
    sandbox = yaml.safe_load(write_instance_config(tmp_path / "sandbox").read_text())
    assert documented["concurrency"] == sandbox["concurrency"]
    home = tmp_path / "documented"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(documented))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
