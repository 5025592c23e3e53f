"""`ml-clusters plan-changed`: git diff → changed units + downstream → `dagster asset materialize` (plan)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import typer
from typer.testing import CliRunner

from ml_clusters.estate import load_estate
from ml_clusters.execution import cli as execution_cli
from ml_clusters.execution.ci import PLAN_CONFIG_JSON, changed_files, select_changed

from .double import FIXTURES, REPO, TerragruntDouble, process_environment

LOCATION = Path(__file__).resolve().parent / "units_location.py"
ML_CLUSTERS = Path(sys.executable).parent / "ml-clusters"
NET_E, KMS, STORAGE, CLUSTER = "acme/us-east-1/networking", "acme/us-east-1/kms", "acme/us-east-1/storage", "acme/us-east-1/cluster"
NET_W, REPLICA = "acme/us-west-2/networking", "acme/us-west-2/replica"
PCLUSTER, HYPERPOD = "main-account/us-east-1/parallelcluster", "secondary-account/us-west-2/hyperpod-slurm"


# This area's commands on their own app, so another area's half-finished CLI can't break these
# tests; the slow test at the end runs the real `ml-clusters` entry point.
app = typer.Typer()
app.callback()(lambda: None)
execution_cli.register(app)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository holding a copy of the small estate under terraform/, committed on main."""
    root = tmp_path / "repo"
    shutil.copytree(FIXTURES / "small", root / "terraform")
    (root / "README.md").write_text("docs\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "estate")
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "estate-cache"))
    return root


@pytest.fixture
def real_repo(tmp_path: Path, monkeypatch) -> Path:
    """A git repository holding a copy of this project's terraform/ tree, committed on main."""
    root = tmp_path / "real"
    shutil.copytree(REPO / "terraform", root / "terraform", ignore=shutil.ignore_patterns(".terragrunt-cache", ".terraform"))
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "estate")
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "estate-cache"))
    return root


def selection_for(repo: Path, base="main", head=None):
    estate = load_estate(repo / "terraform" / "live", cache=False)
    return select_changed(estate, changed_files(repo, base, head))


def test_a_module_change_selects_its_units_the_modules_calling_it_and_everything_downstream(repo):
    (repo / "terraform/modules/kms/main.tf").write_text('variable "name" {\n  default = "kms-v2"\n}\n')
    selection = selection_for(repo)
    # shared-storage calls ../kms, so the storage unit changes too.
    assert selection.changed == {KMS: "module file modules/kms/main.tf changed", STORAGE: "module file modules/kms/main.tf changed"}
    assert selection.downstream == (CLUSTER, REPLICA)


def test_an_included_file_change_selects_every_unit_including_it(repo):
    envcommon = repo / "terraform/live/_envcommon/networking.hcl"
    envcommon.write_text(envcommon.read_text().replace("10.9.0.0/16", "10.8.0.0/16"))
    selection = selection_for(repo)
    assert set(selection.changed) == {NET_E, NET_W}
    assert set(selection.downstream) == {STORAGE, CLUSTER, REPLICA}


def test_root_hcl_change_selects_everything(repo):
    with (repo / "terraform/live/root.hcl").open("a") as f:
        f.write("\n# touched\n")
    selection = selection_for(repo)
    assert len(selection.units) == 6
    assert set(selection.changed) == set(load_estate(repo / "terraform" / "live", cache=False).units)
    assert selection.downstream == ()  # every unit changed itself: none is listed twice


def test_a_cluster_config_change_selects_the_unit_whose_inputs_name_it(real_repo):
    config = real_repo / "terraform/cluster-configs/parallelcluster/training-cluster.yaml"
    config.write_text(config.read_text() + "\n# bigger head node\n")
    selection = selection_for(real_repo)
    assert selection.changed == {PCLUSTER: "input file cluster-configs/parallelcluster/training-cluster.yaml changed"}
    estate = load_estate(real_repo / "terraform/live", cache=False)
    assert selection.downstream == estate.downstream_of(PCLUSTER)
    assert selection.ignored_files == () and selection.gitops_files == ()


def test_a_file_under_an_input_directory_counts_and_so_does_deleting_a_named_file(real_repo):
    (real_repo / "terraform/cluster-configs/hyperpod/lifecycle-scripts/new_hook.sh").write_text("echo hi\n")
    git(real_repo, "rm", "-q", "terraform/cluster-configs/parallelcluster/training-cluster.yaml")
    selection = selection_for(real_repo)
    assert selection.changed == {
        PCLUSTER: "input file cluster-configs/parallelcluster/training-cluster.yaml changed",
        HYPERPOD: "input file cluster-configs/hyperpod/lifecycle-scripts/new_hook.sh changed",
    }


def test_unclaimed_and_gitops_changes_are_reported_not_dropped(real_repo):
    (real_repo / "terraform/gitops/bootstrap/addons.yaml").write_text("# retuned\n")
    (real_repo / "terraform/cluster-configs/notes.md").write_text("no unit reads this\n")
    live = real_repo / "terraform/live"
    result = CliRunner().invoke(app, ["plan-changed", "--base", "main", "--live-dir", str(live), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        "Not planned by Terraform (1): GitOps manifests, synced to the clusters by Argo CD after merge "
        "(review them in the diff):\n  gitops/bootstrap/addons.yaml\n"
    ) in result.output
    assert "Ignored (1): changed, but no unit reads them:\n  cluster-configs/notes.md\n" in result.output
    assert "nothing to plan" in result.output and "Running:" not in result.output


def test_committed_changes_between_refs(repo):
    git(repo, "checkout", "-q", "-b", "feature")
    unit = repo / "terraform/live/acme/us-west-2/replica/terragrunt.hcl"
    unit.write_text(unit.read_text() + "\n# change\n")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "replica")
    selection = selection_for(repo, "main", "feature")
    assert selection.changed == {REPLICA: "live/acme/us-west-2/replica/terragrunt.hcl changed"}
    assert selection.downstream == ()


def test_dry_run_prints_the_selection_and_the_dagster_command(repo):
    (repo / "terraform/modules/eks-cluster/main.tf").write_text("# v2\n")
    result = CliRunner().invoke(app, ["plan-changed", "--base", "main", "--live-dir", str(repo / "terraform/live"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert f"  {CLUSTER}  (module file modules/eks-cluster/main.tf changed)" in result.output
    assert (
        "Running: dagster asset materialize -m ml_clusters.definitions "
        f"--select 'key:\"{CLUSTER}\"' --config-json '{PLAN_CONFIG_JSON}'" in result.output
    )


def test_an_empty_selection_is_refused(repo):
    (repo / "README.md").write_text("only docs changed\n")
    result = CliRunner().invoke(app, ["plan-changed", "--base", "main", "--live-dir", str(repo / "terraform/live")])
    assert result.exit_code == 0
    assert "nothing to plan" in result.output and "Running:" not in result.output


def test_a_bad_base_ref_is_a_one_line_error(repo):
    result = CliRunner().invoke(app, ["plan-changed", "--base", "no-such-ref", "--live-dir", str(repo / "terraform/live")])
    assert result.exit_code == 2
    assert result.output.startswith("error: git diff") and "no-such-ref" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_plan_changed_plans_exactly_the_selection_through_dagster(repo, tmp_path):
    double = TerragruntDouble.create(tmp_path)
    (repo / "terraform/modules/s3-data-bucket/main.tf").write_text("# v2\n")
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = process_environment(
        {**double.env(), "DAGSTER_HOME": str(home), "ML_CLUSTERS_PLAN_DIR": str(tmp_path / "plans"),
         "ML_CLUSTERS_CACHE_DIR": str(tmp_path / "estate-cache")}
    )  # fmt: skip
    proc = subprocess.run(
        [str(ML_CLUSTERS), "plan-changed", "--base", "main", "--live-dir", str(repo / "terraform/live"), "-f", str(LOCATION)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert {c["unit"] for c in double.calls()} == {REPLICA}
    assert {c["command"] for c in double.calls()} == {"plan", "show"}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey(REPLICA.split("/"))) is None
        assert instance.fetch_observations(dg.AssetKey(REPLICA.split("/")), limit=1).records


def test_a_deleted_unit_stops_ci_with_what_to_do(repo):
    # Deleting a unit's directory destroys nothing: its resources would be orphaned silently.
    git(repo, "rm", "-r", "-q", "terraform/live/acme/us-west-2/replica")
    live = str(repo / "terraform/live")
    result = CliRunner().invoke(app, ["plan-changed", "--base", "main", "--live-dir", live, "--dry-run"])
    assert result.exit_code == 3, result.output
    assert "Removed units (1)" in result.output and f"  {REPLICA}" in result.output
    assert "Destroy them from the base revision first" in result.output
    assert "Ignored" not in result.output  # the deleted terragrunt.hcl is not "a file no unit reads"
    acknowledged = CliRunner().invoke(
        app, ["plan-changed", "--base", "main", "--live-dir", live, "--dry-run", "--allow-removed-units"]
    )
    assert acknowledged.exit_code == 0, acknowledged.output
    assert "nothing to plan" in acknowledged.output


def test_a_code_location_that_does_not_load_is_a_one_line_error(repo, monkeypatch):
    monkeypatch.delenv("ML_CLUSTERS_LIVE_DIR", raising=False)
    (repo / "terraform/modules/eks-cluster/main.tf").write_text("# v2\n")
    missing = repo / "no_such_location.py"
    result = CliRunner().invoke(
        app, ["plan-changed", "--base", "main", "--live-dir", str(repo / "terraform/live"), "-f", str(missing)]
    )
    assert result.exit_code == 2, result.output
    assert f"error: cannot load the code location (--python-file {missing}): FileNotFoundError" in result.output
    assert "Traceback" not in result.output
    assert "ML_CLUSTERS_LIVE_DIR" not in os.environ  # the command left this process's environment alone


@pytest.mark.slow
def test_a_selection_of_hundreds_of_units_reaches_dagster_intact(tmp_path, monkeypatch):
    # A root.hcl change selects every unit; one `a or b or ...` expression stops parsing past ~330
    # terms. Dagster's own CLI (`asset list` parses --select as `asset materialize` does) must see all.
    from tests.estate.synthetic import write_tree

    live = write_tree(tmp_path / "estate", 400)
    monkeypatch.setenv("ML_CLUSTERS_CACHE_DIR", str(tmp_path / "estate-cache"))
    estate = load_estate(live)
    selection = select_changed(estate, [live / "root.hcl"])
    assert len(selection.units) == len(estate.units) >= 400
    key_for = lambda path: dg.AssetKey(path.split("/")).to_user_string()  # noqa: E731
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "asset", "list", "-f", str(LOCATION), "--select", selection.dagster_select(key_for)],
        env=process_environment({"ML_CLUSTERS_LIVE_DIR": str(live), "ML_CLUSTERS_CACHE_DIR": str(tmp_path / "estate-cache")}),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert set(listed.stdout.split()) == {key_for(p) for p in estate.units}
