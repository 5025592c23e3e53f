"""Every module is complete: standard files, typed+described variables, pinned providers, a README."""

from __future__ import annotations

import re

import pytest

from ml_clusters.estate import load_estate
from tests.estate_static import hcl
from tests.estate_static.paths import LIVE_DIR, MODULE_NAMES, MODULES_DIR


def test_modules_directory_holds_exactly_the_contract_modules():
    assert sorted(p.name for p in MODULES_DIR.iterdir() if p.is_dir()) == sorted(MODULE_NAMES)


def test_every_module_is_used_by_the_live_tree():
    estate = load_estate(LIVE_DIR)
    assert {u.module for u in estate.units.values()} == set(MODULE_NAMES)


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_module_has_the_standard_files(name):
    missing = [f for f in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md") if not (MODULES_DIR / name / f).is_file()]
    assert missing == [], f"module {name} lacks {missing}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_variables_are_typed_and_described(name):
    variables = hcl.labelled(name, "variable")
    assert variables, f"module {name} declares no variables"
    untyped = [v for v, body in variables.items() if "type" not in body]
    undescribed = [v for v, body in variables.items() if len(body.get("description", "")) < 10]
    assert untyped == [] and undescribed == [], f"{name}: untyped {untyped}, undescribed {undescribed}"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_every_module_validates_some_input(name):
    validated = [v for v, body in hcl.labelled(name, "variable").items() if body.get("validation")]
    assert validated, f"module {name} validates none of its variables"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_outputs_are_described(name):
    outputs = hcl.labelled(name, "output")
    assert outputs, f"module {name} has no outputs"
    undescribed = [o for o, body in outputs.items() if len(body.get("description", "")) < 10]
    assert undescribed == []


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_versions_pin_terraform_and_every_provider(name):
    (terraform,) = hcl.load(MODULES_DIR / name / "versions.tf")["terraform"]
    assert terraform["required_version"].startswith(">="), f"{name}: required_version"
    (providers,) = terraform["required_providers"]
    assert providers, f"{name}: no required_providers"
    for provider, spec in providers.items():
        assert "/" in spec["source"], f"{name}: provider {provider} has no source"
        assert re.match(r"^(~>|>=|=)?\s*\d", spec["version"]), f"{name}: provider {provider} is not pinned"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_external_modules_are_version_pinned(name):
    for label, body in hcl.labelled(name, "module").items():
        if not body["source"].startswith("."):
            assert body.get("version"), f"{name}: module {label} ({body['source']}) has no version"


@pytest.mark.parametrize("name", MODULE_NAMES)
def test_readme_documents_every_input_and_output(name):
    readme = (MODULES_DIR / name / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {name}"), f"{name}/README.md should start with '# {name}'"
    assert "## Inputs" in readme and "## Outputs" in readme
    undocumented = [v for v in hcl.labelled(name, "variable") if f"| `{v}` |" not in readme]
    undocumented += [o for o in hcl.labelled(name, "output") if f"| `{o}` |" not in readme]
    assert undocumented == [], f"{name}/README.md misses {undocumented}: run .venv/bin/python -m tests.estate_static.module_readmes"


@pytest.mark.parametrize("name", ["networking", "s3-replication"])
def test_modules_with_logic_have_mocked_tftests(name):
    tests = sorted((MODULES_DIR / name / "tests").glob("*.tftest.hcl"))
    assert tests, f"{name} has no .tftest.hcl"
    for path in tests:
        parsed = hcl.load(path)
        assert "aws" in {label for block in parsed["mock_provider"] for label in block}
        runs = [body for block in parsed["run"] for body in block.values()]
        assert len(runs) >= 4
        assert all(body.get("assert") or body.get("expect_failures") for body in runs)
        assert all(body.get("command") == "plan" for body in runs)
