"""Checkov passes over terraform/modules, and every skip is in-line with a justification.

Checkov conflicts with Dagster's dependencies, so it lives in its own virtualenv: the test finds it
through $CHECKOV_BIN, <repo>/.venv-checkov/bin/checkov, or PATH. Checkov runs once per session.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.estate_static.paths import MODULES_DIR, REPO, files_under, find_tool, rel

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(.*)$")


@pytest.fixture(scope="session")
def checkov_report(tool_env) -> dict:
    checkov = find_tool("checkov", "CHECKOV_BIN", extra=(REPO / ".venv-checkov" / "bin" / "checkov",))
    if checkov is None:
        pytest.skip("checkov is not installed: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov")
    result = subprocess.run(
        [
            checkov,
            "--directory", str(MODULES_DIR),
            "--framework", "terraform",
            "--output", "json",
            "--compact",  # no code blocks; passed and skipped checks stay in the report
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        env=tool_env,
        check=False,
        timeout=600,
    )
    assert result.stdout.strip(), f"checkov produced no report (exit {result.returncode}):\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    (terraform,) = [r for r in reports if r.get("check_type") == "terraform"]
    return terraform


def test_checkov_reports_no_failed_checks(checkov_report):
    failed = checkov_report["results"]["failed_checks"]
    lines = [f"{c['check_id']} {c['file_path']}:{c['file_line_range'][0]} {c['resource']}: {c['check_name']}" for c in failed]
    assert failed == [], "Checkov failures:\n" + "\n".join(lines)


def test_checkov_parsed_every_module(checkov_report):
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    scanned = {c["file_path"].strip("/").split("/")[0] for c in checkov_report["results"]["passed_checks"]}
    # Checkov has no policies for aws-parallelcluster_cluster or aws_ec2_capacity_block_reservation,
    # so those two modules produce no results; every other module must have been checked.
    expected = {p.name for p in MODULES_DIR.iterdir() if p.is_dir()} - {"parallelcluster", "capacity-block", "pcluster-api"}
    assert expected <= scanned, f"modules Checkov never reported on: {sorted(expected - scanned)}"
    assert summary["passed"] > 100


def test_checkov_skips_are_inline_and_justified():
    skips = []
    for path in files_under(MODULES_DIR, ".tf"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = SKIP_COMMENT.search(line)
            if match:
                skips.append((rel(path), lineno, match.group(1), match.group(2)))
    assert skips, "expected the documented in-line skips"
    unjustified = [s for s in skips if not re.match(r"^:\s*\S.{15,}", s[3])]
    assert unjustified == [], f"skips need ':<one-line justification>': {unjustified}"


def test_checkov_honours_every_inline_skip(checkov_report):
    # A skip comment Checkov did not apply would be a typo'd check ID or a misplaced comment.
    applied = {(c["check_id"], c["file_path"].strip("/")) for c in checkov_report["results"]["skipped_checks"]}
    for path in files_under(MODULES_DIR, ".tf"):
        module_file = str(path.relative_to(MODULES_DIR))
        for line in path.read_text(encoding="utf-8").splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                assert (match.group(1), module_file) in applied, f"checkov ignored skip {match.group(1)} in {module_file}"
