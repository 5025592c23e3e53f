"""Materializing a unit in the sandbox without Terragrunt/OpenTofu fails at once, naming what to install."""

from __future__ import annotations

import os
import subprocess
import sys

from ml_clusters.sandbox.sandbox import write_instance_config


def test_materialize_without_terragrunt_fails_at_once_naming_what_to_install(emulator, tmp_path):
    home = tmp_path / "dagster-home"
    home.mkdir()
    write_instance_config(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ML_CLUSTERS_"))}
    env.update(emulator.environment())
    env.update(DAGSTER_HOME=str(home), PATH=os.pathsep.join(["/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "ml_clusters.definitions",
            "--select",
            'key:"main-account/us-east-1/kms"',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode != 0
    assert "install Terragrunt >= 1.0 and OpenTofu >= 1.10" in result.stdout + result.stderr
