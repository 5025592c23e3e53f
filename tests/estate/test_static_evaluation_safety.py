"""Static evaluation never guesses: no wrong edge behind try()/merge, no traceback, no stale cache, a full code_version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml_clusters.estate import EstateError, Unresolved, load_estate
from tests.estate.test_reader import write


@pytest.fixture(autouse=True)
def no_terragrunt(monkeypatch):
    """These tests are about the static reader: no `terragrunt find` fallback unless a test adds one."""
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", "terragrunt-not-installed-for-tests")


def error_of(live: Path) -> str:
    with pytest.raises(EstateError) as info:
        load_estate(live, cache=False)
    assert "\n" not in str(info.value)
    return str(info.value)


def two_vpcs(live: Path, files: dict[str, str]) -> Path:
    return write(live, {"vpc-a/terragrunt.hcl": "locals {}\n", "vpc-b/terragrunt.hcl": "locals {}\n", **files})


def fake_terragrunt(tmp_path: Path, stdout: str, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "terragrunt"
    fake.write_text(f"#!/bin/sh\ncat <<'JSON'\n{stdout}\nJSON\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", str(fake))


# -- 1. unresolvable values are never replaced by a fallback -------------------------------------


def test_try_does_not_hide_a_run_time_value_behind_its_fallback(tmp_path: Path, monkeypatch):
    live = two_vpcs(
        tmp_path / "live",
        {"app/terragrunt.hcl": 'dependency "vpc" {\n  config_path = try("../${get_env("X")}", "../vpc-a")\n}\n'},
    )
    message = error_of(live)
    assert "app/terragrunt.hcl" in message and "dependency.vpc.config_path cannot be resolved statically" in message
    # With terragrunt installed, its answer is used instead of the guessed fallback.
    fake_terragrunt(tmp_path, json.dumps([{"type": "unit", "path": "app", "dependencies": ["vpc-b"]}]), monkeypatch)
    assert load_estate(live, cache=False).units["app"].depends_on == ("vpc-b",)


def test_try_still_skips_ordinary_errors(tmp_path: Path):
    live = two_vpcs(
        tmp_path / "live",
        {"app/terragrunt.hcl": 'locals {\n  m = {}\n}\ndependency "vpc" {\n  config_path = try(local.m.missing, "../vpc-b")\n}\n'},
    )
    assert load_estate(live, cache=False).units["app"].depends_on == ("vpc-b",)


def test_merged_locals_with_a_run_time_entry_are_not_silently_dropped(tmp_path: Path):
    live = two_vpcs(
        tmp_path / "live",
        {
            "_env/env.hcl": 'locals {\n  vpc_unit = get_env("VPC_UNIT", "vpc-a")\n  owner = "ml"\n}\n',
            "app/terragrunt.hcl": 'locals {\n  env = merge(read_terragrunt_config("../_env/env.hcl").locals, {})\n}\n'
            'dependency "vpc" {\n  config_path = "../${lookup(local.env, "vpc_unit", "vpc-a")}"\n}\n',
        },
    )
    message = error_of(live)
    assert "dependency.vpc.config_path cannot be resolved statically" in message and "get_env" in message


# -- 2. one-line errors, never tracebacks --------------------------------------------------------


def test_unary_minus_converts_a_numeric_string(tmp_path: Path):
    live = write(tmp_path / "live", {"app/terragrunt.hcl": 'locals {\n  port = "8080"\n}\ninputs = {\n  neg = -local.port\n  sum = local.port + 1\n}\n'})
    inputs = load_estate(live, cache=False).units["app"].inputs
    assert inputs["neg"] == -8080 and inputs["sum"] == 8081


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("max(3...)", "max()"),
        ('-"abc"', "number"),
        ('"a" + "b"', "operator +"),
        ('"x" ? "../vpc-a" : "../vpc-b"', "bool"),
        ('element({ a = "../vpc-a" }, 0)', "element()"),
    ],
)
def test_bad_operators_and_expansions_are_one_line_errors(tmp_path: Path, expression: str, expected: str):
    live = two_vpcs(tmp_path / "live", {"app/terragrunt.hcl": f'dependency "vpc" {{\n  config_path = {expression}\n}}\n'})
    message = error_of(live)
    assert "app/terragrunt.hcl" in message and "line 2" in message and expected in message
    # In best-effort inputs the same expression is merely unresolved.
    write(live, {"app/terragrunt.hcl": f"inputs = {{\n  x = {expression}\n}}\n"})
    assert isinstance(load_estate(live, cache=False).units["app"].inputs["x"], Unresolved)


def test_string_booleans_choose_the_right_branch(tmp_path: Path):
    live = two_vpcs(tmp_path / "live", {"app/terragrunt.hcl": 'dependency "vpc" {\n  config_path = "false" ? "../vpc-a" : "../vpc-b"\n}\n'})
    assert load_estate(live, cache=False).units["app"].depends_on == ("vpc-b",)


def test_remote_state_that_is_not_a_map_is_a_one_line_error(tmp_path: Path):
    live = write(tmp_path / "live", {"app/terragrunt.hcl": 'locals {}\nremote_state = "s3"\n'})
    message = error_of(live)
    assert "app/terragrunt.hcl" in message and "line 2" in message and "remote_state must be" in message


# -- 3. warm cache -------------------------------------------------------------------------------


def test_cache_notices_a_changed_non_hcl_file_under_the_live_root(tmp_path: Path):
    live = two_vpcs(
        tmp_path / "live",
        {
            "env.vars": 'locals {\n  vpc = "vpc-b"\n}\n',
            "app/terragrunt.hcl": 'locals {\n  env = read_terragrunt_config("../env.vars")\n}\n'
            'dependency "vpc" {\n  config_path = "../${local.env.locals.vpc}"\n}\n',
        },
    )
    cache = tmp_path / "cache"
    assert load_estate(live, cache_dir=cache).units["app"].depends_on == ("vpc-b",)
    (live / "env.vars").write_text('locals {\n  vpc = "vpc-a"\n}\n')
    assert load_estate(live, cache_dir=cache).units["app"].depends_on == ("vpc-a",)


def test_cache_key_includes_the_reader_code(tmp_path: Path, monkeypatch):
    import ml_clusters.estate.reader as reader

    live = two_vpcs(tmp_path / "live", {"app/terragrunt.hcl": 'dependency "vpc" {\n  config_path = "../vpc-a"\n}\n'})
    cache = tmp_path / "cache"
    first = load_estate(live, cache_dir=cache)
    assert load_estate(live, cache_dir=cache).units == first.units
    monkeypatch.setattr(reader, "_code_key", lambda: "another-version")
    calls = []
    real = reader._Reader.read
    monkeypatch.setattr(reader._Reader, "read", lambda self, *a: calls.append(1) or real(self, *a))
    load_estate(live, cache_dir=cache)
    assert calls == [1]


# -- 4. find_in_parent_folders finds directories -------------------------------------------------


def test_find_in_parent_folders_matches_a_directory(tmp_path: Path):
    live = two_vpcs(
        tmp_path / "live",
        {
            "_envcommon/vpc.hcl": 'dependency "vpc" {\n  config_path = "${get_terragrunt_dir()}/../vpc-b"\n}\n',
            "app/terragrunt.hcl": 'include "env" {\n  path = "${find_in_parent_folders("_envcommon")}/vpc.hcl"\n}\n',
        },
    )
    assert load_estate(live, cache=False).units["app"].depends_on == ("vpc-b",)


# -- 5. an unresolvable terraform.source does not stop the load ----------------------------------


def test_unresolvable_source_leaves_the_module_unknown(tmp_path: Path, monkeypatch):
    live = two_vpcs(
        tmp_path / "live",
        {
            "app/terragrunt.hcl": 'terraform {\n  source = "git::https://example.com/m.git//vpc?ref=${get_env("REF", "v1")}"\n}\n'
            'dependency "vpc" {\n  config_path = "../vpc-a"\n}\n',
        },
    )
    # terragrunt would fail if it were asked: it must not be.
    fake = tmp_path / "bin" / "terragrunt"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", str(fake))
    app = load_estate(live, cache=False).units["app"]
    assert isinstance(app.source, Unresolved) and "get_env" in str(app.source)
    assert app.module is None and app.module_dir is None
    assert app.depends_on == ("vpc-a",)


# -- 6. code_version follows every file a unit reads ----------------------------------------------


def test_code_version_follows_files_read_by_locals_the_graph_never_uses(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "root.hcl": 'locals {\n  tags = read_terragrunt_config("${get_parent_terragrunt_dir()}/tags.hcl").locals\n}\n'
            'generate "provider" {\n  path = "provider.tf"\n  if_exists = "overwrite"\n'
            '  contents = <<EOF\n# ${local.tags.cost_center}\nEOF\n}\n',
            "tags.hcl": 'locals {\n  cost_center = "9999"\n}\n',
            "app/terragrunt.hcl": 'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n',
        },
    )
    first = load_estate(live, cache=False).units["app"]
    assert live / "tags.hcl" in first.files
    (live / "tags.hcl").write_text('locals {\n  cost_center = "1234"\n}\n')
    assert load_estate(live, cache=False).units["app"].content_hash != first.content_hash


def test_code_version_follows_a_file_read_by_an_unused_local_of_the_unit_itself(tmp_path: Path):
    live = write(tmp_path / "live", {
        "app/terragrunt.hcl": 'locals {\n  settings = read_terragrunt_config("../env.vars")\n}\n',
        "env.vars": 'locals {\n  tier = "gold"\n}\n',
    })  # fmt: skip
    cache = tmp_path / "cache"
    first = load_estate(live, cache=False).units["app"]
    assert live / "env.vars" in first.files
    assert load_estate(live, cache_dir=cache).units["app"].content_hash == first.content_hash  # warm the cache
    (live / "env.vars").write_text('locals {\n  tier = "silver"\n}\n')
    assert load_estate(live, cache=False).units["app"].content_hash != first.content_hash
    assert load_estate(live, cache_dir=cache).units["app"].content_hash != first.content_hash  # the warm cache too


# -- 7. get_original_terragrunt_dir() answers for the reading unit ---------------------------------


def test_get_original_terragrunt_dir_in_a_read_file_is_the_reading_unit(tmp_path: Path):
    common = 'locals {\n  common = read_terragrunt_config("${get_terragrunt_dir()}/../../_common/deps.hcl")\n}\n'
    live = write(
        tmp_path / "live",
        {
            "_common/deps.hcl": 'locals {\n  vpc_dir = "${get_original_terragrunt_dir()}/../vpc"\n}\n',
            "_common/outer.hcl": 'locals {\n  deps = read_terragrunt_config("deps.hcl")\n}\n',
            "prod/vpc/terragrunt.hcl": "locals {}\n",
            "prod/app/terragrunt.hcl": common + 'dependency "vpc" {\n  config_path = local.common.locals.vpc_dir\n}\n',
            "dev/vpc/terragrunt.hcl": "locals {}\n",
            # read through another file: still the unit's directory, and evaluated per unit
            "dev/app/terragrunt.hcl": common.replace("deps.hcl", "outer.hcl")
            + 'dependency "vpc" {\n  config_path = local.common.locals.deps.locals.vpc_dir\n}\n',
            "dev/api/terragrunt.hcl": common.replace("deps.hcl", "outer.hcl")
            + 'dependency "vpc" {\n  config_path = local.common.locals.deps.locals.vpc_dir\n}\n',
        },
    )
    units = load_estate(live, cache=False).units
    assert units["prod/app"].depends_on == ("prod/vpc",)
    assert units["dev/app"].depends_on == ("dev/vpc",)
    assert units["dev/api"].depends_on == ("dev/vpc",)


# -- the terragrunt find fallback covers include paths, and only the graph asks for it -------------


def test_unresolvable_include_path_uses_terragrunt_find(tmp_path: Path, monkeypatch):
    live = two_vpcs(
        tmp_path / "live",
        {
            "_envcommon/app.hcl": 'dependency "vpc" {\n  config_path = "../vpc-a"\n}\n',
            "app/terragrunt.hcl": 'include "env" {\n  path = "${get_env("COMMON")}/app.hcl"\n}\ninputs = {\n  x = 1\n}\n',
        },
    )
    message = error_of(live)
    assert "include.env.path cannot be resolved statically" in message and "install Terragrunt" in message
    fake_terragrunt(tmp_path, json.dumps([{"type": "unit", "path": "app", "dependencies": ["vpc-a"]}]), monkeypatch)
    app = load_estate(live, cache=False).units["app"]
    assert app.depends_on == ("vpc-a",) and app.inputs == {"x": 1}


def test_account_local_from_the_environment_does_not_stop_the_load(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "acct/account.hcl": 'locals {\n  account_id = "111111111111"\n  owner = get_env("OWNER")\n}\n',
            "acct/app/terragrunt.hcl": "locals {}\n",
        },
    )
    account = load_estate(live, cache=False).units["acct/app"].account
    assert account.id == "111111111111" and "owner" not in account.locals


def test_cache_notices_a_file_appearing_that_a_fallback_stood_in_for(tmp_path: Path):
    live = two_vpcs(
        tmp_path / "live",
        {
            "app/terragrunt.hcl": 'locals {\n  env = read_terragrunt_config("../env.vars", { locals = { vpc = "vpc-a" } })\n}\n'
            'dependency "vpc" {\n  config_path = "../${local.env.locals.vpc}"\n}\n',
        },
    )
    cache = tmp_path / "cache"
    assert load_estate(live, cache_dir=cache).units["app"].depends_on == ("vpc-a",)
    (live / "env.vars").write_text('locals {\n  vpc = "vpc-b"\n}\n')
    assert load_estate(live, cache_dir=cache).units["app"].depends_on == ("vpc-b",)


def test_read_terragrunt_config_of_a_directory_reads_its_terragrunt_hcl(tmp_path: Path):
    live = write(
        tmp_path / "live",
        {
            "vpc/terragrunt.hcl": 'locals {\n  cidr = "10.0.0.0/16"\n}\n',
            "app/terragrunt.hcl": 'locals {\n  vpc = read_terragrunt_config("../vpc")\n}\ninputs = {\n  cidr = local.vpc.locals.cidr\n}\n',
        },
    )
    assert load_estate(live, cache=False).units["app"].inputs == {"cidr": "10.0.0.0/16"}


def test_path_relative_to_include_without_an_include_is_dot(tmp_path: Path):
    # Terragrunt answers "." for a unit with no include block; the edge built from it must follow.
    live = two_vpcs(tmp_path / "live", {
        "app/terragrunt.hcl": 'dependency "vpc" {\n  config_path = path_relative_to_include() == "." ? "../vpc-a" : "../vpc-b"\n}\n'
    })  # fmt: skip
    assert load_estate(live, cache=False).units["app"].depends_on == ("vpc-a",)
