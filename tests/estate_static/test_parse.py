"""Every file of the estate parses: HCL (python-hcl2), YAML (all documents), shell (bash -n, shellcheck)."""

from __future__ import annotations

import shutil
import subprocess

import hcl2
import pytest
import yaml

from tests.estate_static.paths import TERRAFORM_DIR, files_under, rel

HCL_FILES = files_under(TERRAFORM_DIR, ".tf", ".hcl")
YAML_FILES = files_under(TERRAFORM_DIR, ".yaml", ".yml")
SHELL_FILES = files_under(TERRAFORM_DIR, ".sh")


def test_the_estate_has_files_of_every_kind():
    # Guards the parametrised tests below against silently testing nothing.
    assert len(HCL_FILES) > 100
    assert any(p.name.endswith(".tftest.hcl") for p in HCL_FILES)
    assert len(YAML_FILES) >= 5
    assert any(p.name == "on_create.sh" for p in SHELL_FILES)


@pytest.mark.parametrize("path", HCL_FILES, ids=rel)
def test_hcl_parses(path):
    with path.open(encoding="utf-8") as fh:
        parsed = hcl2.load(fh)
    assert parsed, f"{rel(path)} parsed to nothing"


@pytest.mark.parametrize("path", YAML_FILES, ids=rel)
def test_yaml_parses(path):
    with path.open(encoding="utf-8") as fh:
        documents = [doc for doc in yaml.safe_load_all(fh) if doc is not None]
    assert documents, f"{rel(path)} holds no YAML document"
    assert all(isinstance(doc, dict) for doc in documents), f"{rel(path)}: every document should be a mapping"


@pytest.mark.parametrize("path", SHELL_FILES, ids=rel)
def test_shell_syntax(path):
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"bash -n {rel(path)}:\n{result.stderr}"


@pytest.mark.parametrize("path", SHELL_FILES, ids=rel)
def test_shellcheck(path):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (apt-get install -y shellcheck)")
    result = subprocess.run(
        [shellcheck, "--external-sources", "--severity=style", str(path.name)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"shellcheck {rel(path)}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", SHELL_FILES, ids=rel)
def test_shell_scripts_are_strict(path):
    # Lifecycle scripts run unattended as root at node creation: a failing step must stop them.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash"), f"{rel(path)} needs a bash shebang"
    if path.name != "lib.sh":  # sourced helpers inherit the caller's options
        assert "set -euo pipefail" in text, f"{rel(path)} must run with set -euo pipefail"
