"""The wiring check: dependency outputs and inputs line up with the modules' interfaces."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_clusters.estate import load_estate
from ml_clusters.estate.wiring import WiringViolation, check_wiring, module_interface
from tests.estate_static.paths import FIXTURES, LIVE_DIR, MODULES_DIR

BROKEN = FIXTURES / "broken-wiring"


@pytest.fixture(scope="module")
def live_estate():
    return load_estate(LIVE_DIR)


@pytest.fixture(scope="module")
def broken_violations():
    return check_wiring(load_estate(BROKEN / "live"))


def _marked_lines(path: Path) -> list[int]:
    return [n for n, line in enumerate(path.read_text().splitlines(), start=1) if "BROKEN" in line]


def test_live_tree_has_no_wiring_violations(live_estate):
    violations = check_wiring(live_estate)
    assert violations == [], "wiring violations:\n" + "\n".join(map(str, violations))


def test_live_tree_wires_dependency_outputs_across_accounts(live_estate):
    # The check is only meaningful if units really consume their dependencies' outputs, including
    # across accounts; guard against a tree that trivially passes.
    replication = live_estate.unit("main-account/us-east-1/s3-replication")
    assert {d.path for d in replication.dependencies} >= {
        "main-account/us-east-1/s3-central-data",
        "main-account/us-west-2/s3-data-replica",
        "secondary-account/us-east-1/s3-data-replica",
        "secondary-account/us-west-2/s3-data-replica",
    }
    assert "dependency.replica_secondary_us_west_2.outputs.kms_key_arn" in str(replication.inputs["destinations"])


def test_broken_fixture_reports_each_defect_with_file_and_line(broken_violations):
    envcommon = BROKEN / "live" / "_envcommon" / "app.hcl"
    unit_file = BROKEN / "live" / "acct-a" / "us-east-1" / "app" / "terragrunt.hcl"
    stale_mock, misspelled = _marked_lines(envcommon)
    bogus_input, ghost = _marked_lines(unit_file)

    found = {(Path(v.file), v.line): v.message for v in broken_violations}
    assert set(found) == {
        (envcommon, stale_mock),
        (envcommon, misspelled),
        (unit_file, bogus_input),
        (unit_file, ghost),
        (unit_file, 1),  # the required variable nobody sets
    }, "\n".join(map(str, broken_violations))

    assert "mock_outputs" in found[(envcommon, stale_mock)] and "subnet_idz" in found[(envcommon, stale_mock)]
    assert "dependency.net.outputs.vpc_idd" in found[(envcommon, misspelled)]
    assert "outputs: subnet_ids, vpc_id" in found[(envcommon, misspelled)]
    assert "'bogus_input'" in found[(unit_file, bogus_input)]
    assert "no dependency 'ghost'" in found[(unit_file, ghost)]
    assert "'cluster_size'" in found[(unit_file, 1)]


def test_violations_name_the_unit_and_render_as_file_line_message(broken_violations):
    assert {v.unit for v in broken_violations} == {"acct-a/us-east-1/app"}
    first = broken_violations[0]
    assert str(first).startswith(f"{first.file}:{first.line}: unit acct-a/us-east-1/app ")


def test_comments_and_plain_strings_are_not_references(broken_violations):
    messages = "\n".join(v.message for v in broken_violations)
    assert "not_checked_in_a_comment" not in messages
    assert "plain_text" not in messages
    assert "bogus_nested_key_is_fine" not in messages


def test_a_module_that_does_not_parse_is_reported(tmp_path):
    (tmp_path / "main.tf").write_text('variable "x" {\n  type = string\n')
    interface = module_interface(tmp_path)
    assert isinstance(interface.error, WiringViolation)
    assert interface.error.file == tmp_path / "main.tf"
    assert "cannot parse module file" in interface.error.message


def test_module_interface_reads_variables_outputs_and_defaults():
    interface = module_interface(MODULES_DIR / "s3-replication")
    assert {"destinations", "prefix_rules", "replication_time_minutes"} <= interface.variables
    assert "destinations" in interface.required_variables
    assert "prefix_rules" not in interface.required_variables
    assert {"rules", "replication_role_arn", "source_bucket_name"} <= interface.outputs
