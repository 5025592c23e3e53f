"""Terragrunt semantics the static reader must honour, and the inputs it must refuse cleanly."""

import json
import os
from pathlib import Path

import pytest

from ml_clusters.estate import EstateError, load_estate
from tests.estate.test_reader import INCLUDE_ROOT, ROOT_HCL, write

ACCOUNT = 'locals {\n  account_id = "111111111111"\n  account_name = "main"\n}\n'


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return write(
        tmp_path / "live",
        {
            "root.hcl": ROOT_HCL,
            "a/account.hcl": ACCOUNT,
            "a/r/region.hcl": 'locals {\n  aws_region = "us-east-1"\n}\n',
            "a/r/vpc/terragrunt.hcl": INCLUDE_ROOT,
            "a/r/iam/terragrunt.hcl": INCLUDE_ROOT,
        },
    )


def env_include(name: str, strategy: str | None = None, expose: bool = False) -> str:
    lines = [f'include "env" {{\n  path = "${{dirname(find_in_parent_folders("root.hcl"))}}/_envcommon/{name}.hcl"\n']
    if strategy:
        lines.append(f'  merge_strategy = "{strategy}"\n')
    if expose:
        lines.append("  expose = true\n")
    return "".join(lines) + "}\n"


def error_of(live: Path) -> str:
    with pytest.raises(EstateError) as info:
        load_estate(live, cache=False)
    assert "\n" not in str(info.value)
    return str(info.value)


ENV_WITH_VPC = 'dependency "vpc" {\n  config_path = "../vpc"\n  mock_outputs = { id = "x" }\n}\ninputs = {\n  tags = { a = "1", b = "2" }\n}\n'


def test_deep_merge_combines_same_named_dependency_blocks_and_inputs(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": ENV_WITH_VPC,
            "a/r/app/terragrunt.hcl": env_include("app", "deep")
            + 'dependency "vpc" {\n  mock_outputs = { id = "y" }\n}\ninputs = {\n  tags = { b = "3" }\n}\n',
        },
    )
    app = load_estate(base, cache=False).units["a/r/app"]
    assert app.depends_on == ("a/r/vpc",)  # config_path came from the include
    assert app.inputs["tags"] == {"a": "1", "b": "3"}


def test_deep_merge_can_disable_an_inherited_dependency(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": ENV_WITH_VPC,
            "a/r/app/terragrunt.hcl": env_include("app", "deep") + 'dependency "vpc" {\n  enabled = false\n}\n',
        },
    )
    app = load_estate(base, cache=False).units["a/r/app"]
    assert app.depends_on == ()
    assert app.dependencies[0].enabled is False


def test_shallow_merge_child_block_replaces_and_inputs_replace_top_level(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": ENV_WITH_VPC,
            "a/r/app/terragrunt.hcl": env_include("app")
            + 'dependency "vpc" {\n  config_path = "../iam"\n}\ninputs = {\n  tags = { b = "3" }\n}\n',
        },
    )
    app = load_estate(base, cache=False).units["a/r/app"]
    assert app.depends_on == ("a/r/iam",)
    assert app.inputs["tags"] == {"b": "3"}


def test_no_merge_include_contributes_nothing_but_stays_readable_when_exposed(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": 'locals {\n  target = "../iam"\n}\n' + ENV_WITH_VPC,
            "a/r/app/terragrunt.hcl": env_include("app", "no_merge", expose=True)
            + 'dependency "x" {\n  config_path = include.env.locals.target\n}\n',
        },
    )
    app = load_estate(base, cache=False).units["a/r/app"]
    assert app.depends_on == ("a/r/iam",)
    assert "tags" not in app.inputs


def test_include_must_be_exposed_to_be_read(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": 'locals {\n  target = "../iam"\n}\n',
            "a/r/app/terragrunt.hcl": env_include("app") + 'dependency "x" {\n  config_path = include.env.locals.target\n}\n',
        },
    )
    assert "set expose = true" in error_of(base)


def test_disabled_dependency_to_missing_unit_is_no_edge(base: Path):
    write(
        base,
        {
            "a/r/app/terragrunt.hcl": 'locals {\n  prod = false\n}\n'
            'dependency "p" {\n  config_path = "../prod-only"\n  enabled = local.prod\n}\n'
            'dependency "s" {\n  config_path = "../vpc"\n  enabled = "true"\n}\n',
        },
    )
    assert load_estate(base, cache=False).units["a/r/app"].depends_on == ("a/r/vpc",)


def test_enabled_must_be_a_bool(base: Path):
    write(base, {"a/r/app/terragrunt.hcl": 'dependency "s" {\n  config_path = "../vpc"\n  enabled = "yes"\n}\n'})
    assert "dependency.s.enabled must be a bool" in error_of(base)


def test_absolute_config_path_and_path_to_the_file(base: Path):
    write(
        base,
        {
            "a/r/app/terragrunt.hcl": f'dependency "v" {{\n  config_path = "{base}/a/r/vpc"\n}}\n'
            'dependency "i" {\n  config_path = "../iam/terragrunt.hcl"\n}\n',
        },
    )
    assert load_estate(base, cache=False).units["a/r/app"].depends_on == ("a/r/vpc", "a/r/iam")


def test_include_path_cannot_use_locals(base: Path):
    write(
        base,
        {
            "_envcommon/app.hcl": "",
            "a/r/app/terragrunt.hcl": 'locals {\n  p = "../../../_envcommon/app.hcl"\n}\ninclude "x" {\n  path = local.p\n}\n',
        },
    )
    message = error_of(base)
    assert "include.x.path" in message and "before locals" in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ('dependency "v" {\n  config_path = "../vpc"\n}\ndependency "v" {\n  config_path = "../iam"\n}\n',
         "two dependency blocks named 'v'"),
        ('dependency "v" {\n  config_path = null\n}\n', "config_path must be a path, not None"),
        ('dependency "v" {\n  mock_outputs = {}\n}\n', "dependency 'v' has no config_path"),
    ],
)
def test_bad_dependency_blocks(base: Path, text: str, expected: str):
    write(base, {"a/r/app/terragrunt.hcl": text})
    message = error_of(base)
    assert expected in message and "a/r/app/terragrunt.hcl" in message


def test_merge_strategy_is_validated(base: Path):
    write(base, {"_envcommon/app.hcl": "", "a/r/app/terragrunt.hcl": env_include("app", "deeep")})
    assert "merge_strategy must be one of no_merge, shallow, deep, not 'deeep'" in error_of(base)


def test_merge_strategy_from_the_environment_is_explained(base: Path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    write(
        base,
        {
            "_envcommon/app.hcl": "",
            "a/r/app/terragrunt.hcl": 'include "env" {\n  path = "../../../_envcommon/app.hcl"\n'
            '  merge_strategy = get_env("STRATEGY", "deep")\n}\n',
        },
    )
    message = error_of(base)
    assert "include.env.merge_strategy cannot be resolved statically" in message


def test_deeply_nested_expressions_never_crash(base: Path):
    nested = "[" * 3000 + "]" * 3000
    write(base, {"a/r/app/terragrunt.hcl": f"locals {{\n  x = {nested}\n}}\ninputs = {{\n  x = local.x\n}}\n"})
    assert "x" in load_estate(base, cache=False).units["a/r/app"].inputs
    write(base, {"a/r/app/terragrunt.hcl": f'locals {{\n  x = {nested}\n}}\ndependency "d" {{\n  config_path = local.x\n}}\n'})
    message = error_of(base)
    assert "a/r/app/terragrunt.hcl" in message and "dependency.d.config_path" in message


def _fake_terragrunt(tmp_path: Path, stdout: str, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "terragrunt"
    fake.write_text(f"#!/bin/sh\ncat <<'JSON'\n{stdout}\nJSON\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")


def test_find_fallback_keeps_same_named_dependencies_apart(base: Path, tmp_path: Path, monkeypatch):
    write(
        base,
        {
            "b/account.hcl": ACCOUNT.replace("111111111111", "222222222222"),
            "b/r/region.hcl": 'locals {\n  aws_region = "us-east-1"\n}\n',
            "b/r/vpc/terragrunt.hcl": INCLUDE_ROOT,
            "a/r/app/terragrunt.hcl": 'dependency "n" {\n  config_path = get_env("X")\n}\n',
        },
    )
    _fake_terragrunt(tmp_path, json.dumps([{"type": "unit", "path": "a/r/app", "dependencies": ["a/r/vpc", "b/r/vpc"]}]), monkeypatch)
    assert load_estate(base, cache=False).units["a/r/app"].depends_on == ("a/r/vpc", "b/r/vpc")


@pytest.mark.parametrize(
    "stdout, expected",
    [("this is not json", "not its documented JSON"), ("[]", "does not list unit 'a/r/app'")],
)
def test_find_fallback_failures_are_one_line(base: Path, tmp_path: Path, monkeypatch, stdout: str, expected: str):
    write(base, {"a/r/app/terragrunt.hcl": 'dependency "n" {\n  config_path = get_env("X")\n}\n'})
    _fake_terragrunt(tmp_path, stdout, monkeypatch)
    assert expected in error_of(base)


def test_cache_notices_a_changed_file_outside_the_live_root(tmp_path: Path, base: Path):
    shared = tmp_path / "shared" / "common.hcl"
    shared.parent.mkdir()
    shared.write_text('locals {\n  target = "../vpc"\n}\n')
    write(
        base,
        {
            "a/r/app/terragrunt.hcl": f'locals {{\n  common = read_terragrunt_config("{shared}")\n}}\n'
            'dependency "x" {\n  config_path = local.common.locals.target\n}\n',
        },
    )
    cache = tmp_path / "cache"
    assert load_estate(base, cache_dir=cache).units["a/r/app"].depends_on == ("a/r/vpc",)
    shared.write_text('locals {\n  target = "../iam"\n}\n')
    assert load_estate(base, cache_dir=cache).units["a/r/app"].depends_on == ("a/r/iam",)


def test_code_version_follows_data_files_and_called_modules(tmp_path: Path, base: Path):
    modules = tmp_path / "modules"
    write(
        modules,
        {
            "app/main.tf": 'module "kms" {\n  source = "../kms"\n}\n',
            "kms/main.tf": "# kms\n",
            "unused/main.tf": "# unused\n",
        },
    )
    config = tmp_path / "configs" / "cluster.yaml"
    config.parent.mkdir()
    config.write_text("Queues: []\n")
    write(
        base,
        {
            "a/r/app/terragrunt.hcl": f'terraform {{\n  source = "{modules}//app"\n}}\n'
            f'inputs = {{\n  config_path = "{config}"\n}}\n',
        },
    )
    cache = tmp_path / "cache"
    first = load_estate(base, cache_dir=cache).units["a/r/app"]
    assert first.module_dirs == (modules / "app", modules / "kms")
    assert first.data_paths == (config,)
    (modules / "unused/main.tf").write_text("# still unused\n")
    assert load_estate(base, cache_dir=cache).units["a/r/app"].content_hash == first.content_hash
    (modules / "kms/main.tf").write_text("# kms changed\n")
    second = load_estate(base, cache_dir=cache).units["a/r/app"]
    assert second.content_hash != first.content_hash
    config.write_text("Queues: [gpu]\n")
    assert load_estate(base, cache_dir=cache).units["a/r/app"].content_hash != second.content_hash


def test_inputs_naming_machine_paths_are_not_data_files(base: Path):
    write(base, {"a/r/app/terragrunt.hcl": 'inputs = {\n  mount_path = "/home"\n  tmp = "/tmp"\n}\n'})
    assert load_estate(base, cache=False).units["a/r/app"].data_paths == ()
