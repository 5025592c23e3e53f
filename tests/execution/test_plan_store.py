"""Where saved plans live, and that the store never loosens or trusts a directory it did not make."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.execution.plan_store import PlanStore, PlanStoreError, default_plan_dir, ensure_private_dir
from ml_clusters.resources.terragrunt import TerragruntCli
from ml_clusters.translator import TerragruntTranslator


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def unwritable_dir(tmp_path: Path):
    """A directory in which mkdir fails with EPERM/EACCES, even for root (immutable attribute)."""
    directory = tmp_path / "readonly"
    directory.mkdir()
    if os.getuid() != 0:
        directory.chmod(0o500)
        yield directory
        directory.chmod(0o700)
        return
    if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode:
        pytest.skip("running as root without chattr +i: no way to make a directory unwritable")
    try:
        yield directory
    finally:
        subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_the_store_is_an_owned_subdirectory_of_the_configured_dir(monkeypatch, tmp_path):
    for name in ("ML_CLUSTERS_PLAN_DIR", "DAGSTER_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_plan_dir() == tmp_path / "cache" / "ml-clusters" / "ml-clusters-plans"  # never a shared /tmp path
    assert default_plan_dir(instance_root=str(tmp_path / "instance")) == tmp_path / "instance" / "ml-clusters-plans"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert default_plan_dir(instance_root=str(tmp_path / "instance")) == tmp_path / "home" / "ml-clusters-plans"
    monkeypatch.setenv("ML_CLUSTERS_PLAN_DIR", str(tmp_path / "elsewhere"))
    assert default_plan_dir() == tmp_path / "elsewhere" / "ml-clusters-plans"


def test_a_shared_base_dir_is_left_alone_and_the_store_is_owner_only(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    store = PlanStore(shared / "ml-clusters-plans")
    plan_file = store.plan_file("acme/us-east-1/kms", "v1", run_id="run-1")
    assert mode(shared) == 0o1777  # the base was not chmod-ed
    assert mode(store.root) == 0o700 and os.lstat(store.root).st_uid == os.getuid()
    assert plan_file.parent.is_relative_to(store.root)


def test_an_existing_store_open_to_others_is_refused_not_chmod_ed(tmp_path):
    root = tmp_path / "ml-clusters-plans"
    root.mkdir()
    root.chmod(0o755)
    with pytest.raises(PlanStoreError) as error:
        PlanStore(root).plan_file("acme/us-east-1/kms", "v1", run_id="run-1")
    assert str(error.value).startswith(f"plan store {root}: mode 0755 lets other users in")
    assert mode(root) == 0o755 and list(root.iterdir()) == []


def test_a_symlinked_store_is_refused(tmp_path):
    target = tmp_path / "someone-elses"
    target.mkdir(mode=0o700)
    (tmp_path / "ml-clusters-plans").symlink_to(target)
    with pytest.raises(PlanStoreError, match="is not a directory"):
        ensure_private_dir(tmp_path / "ml-clusters-plans")


@pytest.mark.skipif(os.getuid() != 0, reason="only root can make a directory owned by another user")
def test_a_store_owned_by_another_user_is_refused(tmp_path):
    root = tmp_path / "ml-clusters-plans"
    root.mkdir(mode=0o700)
    os.chown(root, 65534, 65534)
    with pytest.raises(PlanStoreError) as error:
        ensure_private_dir(root)
    assert str(error.value) == (
        f"plan store {root}: owned by uid 65534, not by this user (uid 0); set ML_CLUSTERS_PLAN_DIR to a directory of your own"
    )


def test_a_dir_that_cannot_be_created_is_one_line_naming_it(unwritable_dir):
    with pytest.raises(PlanStoreError) as error:
        ensure_private_dir(unwritable_dir / "ml-clusters-plans")
    message = str(error.value)
    assert message.startswith(f"plan store {unwritable_dir / 'ml-clusters-plans'}: cannot create it (")
    assert "set ML_CLUSTERS_PLAN_DIR to a directory you can write" in message and "\n" not in message


def test_an_unusable_store_fails_the_run_before_any_unit_starts(double, small_estate, unwritable_dir, monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_PLAN_DIR", str(unwritable_dir))
    (assets,) = build_unit_defs(small_estate, TerragruntTranslator()).assets
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [assets],
            resources={"terragrunt": TerragruntCli()},
            instance=instance,
            run_config={"ops": {"terragrunt_units": {"config": {"mode": "plan"}}}},
            raise_on_error=False,
        )
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    message = failure.step_failure_data.error.message
    assert f"plan store {unwritable_dir / 'ml-clusters-plans'}: cannot create it" in message
    assert "Traceback" not in message
    assert double.records() == []
