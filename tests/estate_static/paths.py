"""Paths of the estate and tool lookups shared by the static checks."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO / "terraform"
LIVE_DIR = TERRAFORM_DIR / "live"
MODULES_DIR = TERRAFORM_DIR / "modules"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Modules every unit of the live tree may use (the contract's list).
MODULE_NAMES = (
    "argocd-bootstrap",
    "capacity-block",
    "ecr",
    "eks-cluster",
    "hyperpod",
    "iam",
    "kms",
    "monitoring",
    "networking",
    "parallelcluster",
    "pcluster-api",
    "s3-data-bucket",
    "s3-replication",
    "shared-storage",
    "tfstate",
)


def files_under(root: Path, *suffixes: str) -> list[Path]:
    """Files below root ending in one of suffixes, skipping tool caches and test fixtures."""
    skip = {".terraform", ".terragrunt-cache", ".git"}
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and p.name.endswith(suffixes) and not skip.intersection(p.relative_to(root).parts)
    )


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


def find_tool(name: str, env_var: str | None = None, extra: tuple[Path, ...] = ()) -> str | None:
    """A tool from an explicit env var, the running venv, known locations, or PATH."""
    if env_var and os.environ.get(env_var):
        return os.environ[env_var]
    candidates = [Path(sys.executable).parent / name, *extra]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)
