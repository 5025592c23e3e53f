"""The static reader on small fixture trees: graph resolution and every kind of bad input."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ml_clusters.estate import EstateError, Unresolved, load_estate

ROOT_HCL = """
locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
}
remote_state {
  backend = "s3"
  config = {
    bucket       = "state-${local.account_vars.locals.account_id}"
    key          = "${local.account_vars.locals.account_name}/${local.region_vars.locals.aws_region}/${basename(get_terragrunt_dir())}/terraform.tfstate"
    region       = "us-east-1"
    use_lockfile = true
  }
}
inputs = {
  unit_tag = path_relative_to_include()
}
"""

INCLUDE_ROOT = 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'


def envcommon_include(component: str) -> str:
    return (
        'include "envcommon" {\n'
        f'  path   = "${{dirname(find_in_parent_folders("root.hcl"))}}/_envcommon/{component}.hcl"\n'
        "  expose = true\n}\n"
    )


def write(base: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return base


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """Two accounts, a dependency inherited from _envcommon and a cross-account edge."""
    return write(
        tmp_path / "live",
        {
            "root.hcl": ROOT_HCL,
            "_envcommon/eks.hcl": """
locals {
  modules = "${dirname(find_in_parent_folders("root.hcl"))}/../modules"
}
terraform {
  source = "${local.modules}//eks-cluster"
}
dependency "vpc" {
  config_path = "${get_terragrunt_dir()}/../networking"
  mock_outputs = { vpc_id = "vpc-mock" }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}
dependencies {
  paths = ["../iam"]
}
inputs = {
  vpc_id  = dependency.vpc.outputs.vpc_id
  version = "1.31"
}
""",
            "a/account.hcl": 'locals {\n  account_id = "111111111111"\n  account_name = "main"\n}\n',
            "a/r1/region.hcl": 'locals {\n  aws_region = "us-east-1"\n}\n',
            "a/r1/networking/terragrunt.hcl": INCLUDE_ROOT,
            "a/r1/iam/terragrunt.hcl": INCLUDE_ROOT,
            "a/r1/eks/terragrunt.hcl": INCLUDE_ROOT
            + envcommon_include("eks")
            + 'inputs = {\n  name = "eks-${include.envcommon.locals.modules != "" ? "a" : "b"}"\n}\n',
            "a/r1/source/terragrunt.hcl": INCLUDE_ROOT,
            "b/account.hcl": 'locals {\n  account_id = "222222222222"\n  account_name = "second"\n}\n',
            "b/r2/region.hcl": 'locals {\n  aws_region = "us-west-2"\n}\n',
            "b/r2/replica/terragrunt.hcl": INCLUDE_ROOT
            + 'dependency "source" {\n  config_path = "../../../a/r1/source"\n}\n',
            # Legacy root terragrunt.hcl at the live root: not a unit.
            "terragrunt.hcl": "# legacy root\n",
            # Caches and .git are never scanned.
            "a/r1/eks/.terragrunt-cache/x/terragrunt.hcl": "this is { not hcl",
            ".git/terragrunt.hcl": "nope {",
            "../modules/eks-cluster/main.tf": "# eks\n",
        },
    )


def test_units_edges_and_inherited_dependencies(live: Path):
    estate = load_estate(live, cache=False)
    assert set(estate.units) == {"a/r1/networking", "a/r1/iam", "a/r1/eks", "a/r1/source", "b/r2/replica"}
    eks = estate.units["a/r1/eks"]
    # The dependency block and dependencies.paths both come from _envcommon/eks.hcl.
    assert eks.depends_on == ("a/r1/networking", "a/r1/iam")
    assert eks.dependencies[0].declared_in.endswith("_envcommon/eks.hcl")
    assert ("b/r2/replica", "a/r1/source") in estate.edges  # cross-account edge
    assert eks.module == "eks-cluster"
    assert eks.module_dir == (live.parent / "modules" / "eks-cluster")
    assert eks.account.name == "main" and eks.account.id == "111111111111" and eks.account.key == "a"
    assert eks.region == "us-east-1"
    assert estate.units["b/r2/replica"].account.id == "222222222222"
    assert estate.units["b/r2/replica"].region == "us-west-2"


def test_inputs_merge_and_unresolved_values(live: Path):
    eks = load_estate(live, cache=False).units["a/r1/eks"]
    assert eks.inputs["unit_tag"] == "a/r1/eks"  # root.hcl's path_relative_to_include()
    assert eks.inputs["version"] == "1.31"  # from _envcommon
    assert eks.inputs["name"] == "eks-a"  # the unit's own, reading an exposed include local
    assert eks.inputs["vpc_id"] == Unresolved("dependency.vpc.outputs.vpc_id")


def test_remote_state_evaluated_per_unit(live: Path):
    replica = load_estate(live, cache=False).units["b/r2/replica"]
    assert replica.remote_state.bucket == "state-222222222222"
    assert replica.remote_state.key == "second/us-west-2/replica/terraform.tfstate"
    assert replica.remote_state.use_lockfile is True


def test_topological_order_and_walks(live: Path):
    estate = load_estate(live, cache=False)
    order = estate.topological_order
    assert order.index("a/r1/networking") < order.index("a/r1/eks")
    assert order.index("a/r1/iam") < order.index("a/r1/eks")
    assert estate.upstream_of("a/r1/eks") == tuple(p for p in order if p in {"a/r1/networking", "a/r1/iam"})
    assert estate.downstream_of("a/r1/source") == ("b/r2/replica",)
    with pytest.raises(EstateError, match="no unit 'nope'"):
        estate.upstream_of("nope")


def test_code_version_follows_unit_includes_and_module(live: Path):
    before = load_estate(live, cache=False).units
    (live.parent / "modules/eks-cluster/main.tf").write_text("# eks changed\n")
    after_module = load_estate(live, cache=False).units
    assert after_module["a/r1/eks"].content_hash != before["a/r1/eks"].content_hash
    assert after_module["a/r1/iam"].content_hash == before["a/r1/iam"].content_hash
    (live / "b/r2/region.hcl").write_text('locals {\n  aws_region = "us-west-2"\n  azs = ["a"]\n}\n')
    after_region = load_estate(live, cache=False).units
    assert after_region["b/r2/replica"].content_hash != after_module["b/r2/replica"].content_hash
    assert after_region["a/r1/iam"].content_hash == after_module["a/r1/iam"].content_hash


def test_stacks_are_recognised_and_reported(live: Path):
    write(live, {"stacks/ml/terragrunt.stack.hcl": 'unit "x" {\n  source = "../x"\n  path = "x"\n}\n'})
    estate = load_estate(live, cache=False)
    assert estate.stacks == ("stacks/ml",)
    assert "stacks/ml" not in estate.units


# -- bad input: one line naming the file and the cause ------------------------------------------


def _error(live: Path) -> str:
    with pytest.raises(EstateError) as info:
        load_estate(live, cache=False)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_malformed_hcl_names_file_and_line(live: Path):
    (live / "a/r1/iam/terragrunt.hcl").write_text('include "root" {\n  path = \n}\n')
    message = _error(live)
    assert str(live / "a/r1/iam/terragrunt.hcl") in message
    assert "invalid HCL at line 2, column 10" in message


def test_config_path_to_missing_dir(live: Path):
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "db" {\n  config_path = "../database"\n}\n'})
    message = _error(live)
    assert str(live / "a/r1/app/terragrunt.hcl") in message
    assert "dependency.db.config_path" in message and "a/r1/database does not exist" in message


def test_config_path_to_dir_without_unit(live: Path):
    (live / "a/r1/empty").mkdir()
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "e" {\n  config_path = "../empty"\n}\n'})
    assert "a/r1/empty has no terragrunt.hcl" in _error(live)


def test_dependency_cycle_names_every_unit(live: Path):
    write(
        live,
        {
            "a/r1/x/terragrunt.hcl": 'dependency "y" {\n  config_path = "../y"\n}\n',
            "a/r1/y/terragrunt.hcl": 'dependencies {\n  paths = ["../z"]\n}\n',
            "a/r1/z/terragrunt.hcl": 'dependency "x" {\n  config_path = "../x"\n}\n',
        },
    )
    message = _error(live)
    assert "dependency cycle" in message
    for unit in ("a/r1/x", "a/r1/y", "a/r1/z"):
        assert unit in message


def test_unit_outside_the_root(live: Path, tmp_path: Path):
    write(tmp_path, {"elsewhere/terragrunt.hcl": "# outside\n"})
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "o" {\n  config_path = "../../../../elsewhere"\n}\n'})
    message = _error(live)
    assert str(live / "a/r1/app/terragrunt.hcl") in message and "points outside the live root" in message


@pytest.mark.skipif(os.geteuid() == 0 and sys.platform == "linux", reason="root reads every file")
def test_unreadable_file_non_root(live: Path):
    path = live / "a/r1/iam/terragrunt.hcl"
    path.chmod(0)
    try:
        assert "permission denied" in _error(live)
    finally:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_unreadable_file(live: Path):
    # Runs as root too (root reads any file): a dangling symlink cannot be read.
    path = live / "a/r1/iam/terragrunt.hcl"
    path.unlink()
    path.symlink_to(live / "gone.hcl")
    message = _error(live)
    assert str(path) in message and "cannot read the file: No such file or directory" in message


def test_not_utf8(live: Path):
    (live / "a/r1/iam/terragrunt.hcl").write_bytes(b"locals {\n  x = \"\xff\xfe\"\n}\n")
    message = _error(live)
    assert "a/r1/iam/terragrunt.hcl" in message and "not UTF-8" in message


def test_runtime_function_without_terragrunt_names_attribute_and_why(live: Path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "n" {\n  config_path = get_env("NET_DIR")\n}\n'})
    message = _error(live)
    assert str(live / "a/r1/app/terragrunt.hcl") in message
    assert "line 2: dependency.n.config_path cannot be resolved statically" in message
    assert "get_env() reads an environment variable" in message
    assert "install Terragrunt" in message


def test_runtime_function_falls_back_to_terragrunt_find(live: Path, tmp_path: Path, monkeypatch):
    """With terragrunt on PATH, ask `terragrunt find --json --dag --dependencies` for what HCL can't say."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "find-args"
    fake = bindir / "terragrunt"
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        'print(json.dumps([{"type": "unit", "path": "a/r1/app", "dependencies": ["a/r1/networking"]},'
        ' {"type": "unit", "path": "a/r1/networking"}]))\n'
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "n" {\n  config_path = get_env("NET_DIR")\n}\n'})
    estate = load_estate(live, cache=False)
    assert estate.units["a/r1/app"].depends_on == ("a/r1/networking",)
    assert log.read_text() == f"--working-dir {live} find --json --dag --dependencies"


def test_unknown_local_is_a_clear_error(live: Path):
    write(live, {"a/r1/app/terragrunt.hcl": 'dependency "n" {\n  config_path = local.nope\n}\n'})
    message = _error(live)
    assert "dependency.n.config_path" in message and "no attribute 'nope'" in message


def test_nested_include_is_rejected(live: Path):
    write(
        live,
        {
            "_envcommon/nested.hcl": 'include "x" {\n  path = find_in_parent_folders("root.hcl")\n}\n',
            "a/r1/app/terragrunt.hcl": envcommon_include("nested"),
        },
    )
    message = _error(live)
    assert "_envcommon/nested.hcl" in message and "one level of include" in message


def test_missing_live_root(tmp_path: Path):
    with pytest.raises(EstateError, match="live root is not a directory"):
        load_estate(tmp_path / "nope", cache=False)


def test_cli_reports_bad_input_in_one_line_without_traceback(live: Path):
    (live / "a/r1/iam/terragrunt.hcl").write_text("locals {\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ml-clusters"), "units", "--live-dir", str(live)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "a/r1/iam/terragrunt.hcl" in lines[0]


def test_cli_json_is_the_dag(live: Path):
    import json

    proc = subprocess.run(
        [str(Path(sys.executable).parent / "ml-clusters"), "units", "--live-dir", str(live), "--output", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(proc.stdout)
    by_path = {u["path"]: u for u in data["units"]}
    assert by_path["a/r1/eks"]["dependencies"] == ["a/r1/networking", "a/r1/iam"]
    assert by_path["b/r2/replica"]["account_id"] == "222222222222"


def test_remote_state_keeps_static_keys_when_one_needs_run_time(live: Path):
    text = (live / "root.hcl").read_text().replace(
        "    use_lockfile = true\n", '    use_lockfile = true\n    endpoint     = get_env("S3_ENDPOINT", "")\n'
    )
    (live / "root.hcl").write_text(text)
    state = load_estate(live, cache=False).units["a/r1/eks"].remote_state
    assert state.bucket == "state-111111111111"
    assert state.key == "main/us-east-1/eks/terraform.tfstate"
