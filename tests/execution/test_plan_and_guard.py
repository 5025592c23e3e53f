"""Plan summaries from `show -json`, the destructive-change guard, and the plan store."""

from __future__ import annotations

import stat

import pytest

from ml_clusters.execution.guard import AllowedDestroy, check_plan
from ml_clusters.execution.plan_store import PlanStore
from ml_clusters.execution.plan_summary import PlanFormatError, PlanSummary, summarize_plan


def rc(address, type_, actions, mode="managed"):
    return {"address": address, "type": type_, "mode": mode, "change": {"actions": actions, "after": {"secret": "x"}}}


PLAN = {
    "format_version": "1.2",
    "resource_changes": [
        rc("aws_vpc.this", "aws_vpc", ["no-op"]),
        rc("aws_subnet.a", "aws_subnet", ["create"]),
        rc("aws_security_group.efa", "aws_security_group", ["update"]),
        rc("module.fsx.aws_fsx_lustre_file_system.this", "aws_fsx_lustre_file_system", ["delete", "create"]),
        rc("aws_efs_file_system.home", "aws_efs_file_system", ["create", "delete"]),
        rc("aws_route_table.old", "aws_route_table", ["delete"]),
        rc("aws_s3_bucket.data", "aws_s3_bucket", ["delete"]),
        rc("data.aws_caller_identity.me", "aws_caller_identity", ["read"], mode="data"),
        rc("aws_kms_key.gone", "aws_kms_key", ["forget"]),
    ],
    "resource_drift": [rc("aws_security_group.efa", "aws_security_group", ["update"])],
    "output_changes": {"vpc_id": {"actions": ["no-op"]}, "fsx_id": {"actions": ["update"]}},
}


def test_summary_counts_each_kind_of_change():
    summary = summarize_plan(PLAN, has_changes=True)
    assert (summary.add, summary.change, summary.destroy, summary.replace) == (1, 1, 2, 2)
    assert summary.headline == "1 to add, 1 to change, 2 to destroy, 2 to replace, 1 output(s) changed; drift in 1 resource(s)."
    assert [c.address for c in summary.drift] == ["aws_security_group.efa"]
    assert summary.output_changes == ("fsx_id",)
    assert "aws_vpc.this" not in summary.markdown()  # no-ops are not changes
    assert "| replace | `module.fsx.aws_fsx_lustre_file_system.this` |" in summary.markdown()
    assert "secret" not in str(summary.to_dict())  # values never copied


def test_summary_round_trips_through_the_store_format():
    summary = summarize_plan(PLAN, has_changes=True)
    assert PlanSummary.from_dict(summary.to_dict()) == summary


def test_no_changes():
    summary = summarize_plan({"format_version": "1.0", "resource_changes": []}, has_changes=False)
    assert summary.headline == "No changes."


def test_unknown_plan_format_is_refused():
    with pytest.raises(PlanFormatError, match="format_version '2.0'"):
        summarize_plan({"format_version": "2.0"}, has_changes=False)


def test_guard_blocks_deletes_and_both_replace_forms_of_stateful_types_only():
    verdict = check_plan("acme/us-east-1/storage", summarize_plan(PLAN, True), [])
    assert not verdict.passed
    assert sorted(c.address for c in verdict.blocked) == [
        "aws_efs_file_system.home",
        "aws_s3_bucket.data",
        "module.fsx.aws_fsx_lustre_file_system.this",
    ]
    assert "aws_route_table.old" not in verdict.describe("acme/us-east-1/storage")
    assert verdict.describe("acme/us-east-1/storage").endswith(
        'allow_destroy: [{unit: "acme/us-east-1/storage", address: "module.fsx.aws_fsx_lustre_file_system.this"}, '
        '{unit: "acme/us-east-1/storage", address: "aws_efs_file_system.home"}, '
        '{unit: "acme/us-east-1/storage", address: "aws_s3_bucket.data"}]'
    )


def test_allow_list_matches_unit_and_address_exactly():
    summary = summarize_plan(PLAN, True)
    allow = [
        AllowedDestroy("acme/us-east-1/storage", "module.fsx.aws_fsx_lustre_file_system.this"),
        AllowedDestroy("acme/us-east-1/storage", "aws_efs_file_system.home"),
        AllowedDestroy("acme/us-west-2/storage", "aws_s3_bucket.data"),  # another unit: doesn't count here
    ]
    verdict = check_plan("acme/us-east-1/storage", summary, allow)
    assert [c.address for c in verdict.blocked] == ["aws_s3_bucket.data"]
    assert len(verdict.allowed) == 2
    allow.append(AllowedDestroy("acme/us-east-1/storage", "aws_s3_bucket.data"))
    assert check_plan("acme/us-east-1/storage", summary, allow).passed


def test_plan_store_is_keyed_by_unit_and_code_version(tmp_path):
    store = PlanStore(tmp_path / "plans")
    summary = summarize_plan(PLAN, True)
    plan_file = store.plan_file("acme/us-east-1/storage", "abc123", run_id="run-1")
    assert plan_file.is_absolute()
    plan_file.write_bytes(b"PK")
    store.save("acme/us-east-1/storage", "abc123", plan_file, summary, run_id="run-1")
    saved = store.load("acme/us-east-1/storage", "abc123")
    assert saved is not None and saved.run_id == "run-1" and saved.summary == summary and saved.plan_file == plan_file
    assert store.load("acme/us-east-1/storage", "def456") is None  # code changed: no saved plan
    assert stat.S_IMODE((tmp_path / "plans").stat().st_mode) == 0o700  # plan files hold sensitive values
    store.discard("acme/us-east-1/storage", "abc123", plan_file)
    assert store.load("acme/us-east-1/storage", "abc123") is None and not plan_file.exists()


def test_each_run_writes_its_own_plan_file_and_the_latest_is_the_saved_one(tmp_path):
    store = PlanStore(tmp_path / "store")
    summary = summarize_plan(PLAN, True)
    first = store.plan_file("u/r/x", "v1", run_id="run-1")
    second = store.plan_file("u/r/x", "v1", run_id="run-2")
    assert first != second
    first.write_bytes(b"PK")
    store.save("u/r/x", "v1", first, summary, run_id="run-1")
    second.write_bytes(b"PK")
    store.save("u/r/x", "v1", second, summary, run_id="run-2")
    assert store.load("u/r/x", "v1").plan_file == second
    assert not first.exists()  # superseded plans don't pile up
    store.discard("u/r/x", "v1", first)  # discarding a stale file leaves the current plan alone
    assert store.load("u/r/x", "v1").plan_file == second


def test_a_half_written_plan_is_not_a_saved_plan(tmp_path):
    store = PlanStore(tmp_path / "store")
    plan_file = store.plan_file("u/r/x", "v1", run_id="r")
    plan_file.write_bytes(b"PK")
    store.save("u/r/x", "v1", plan_file, summarize_plan(PLAN, True), run_id="r")
    dropped = store.forget("u/r/x", "v1")  # what a new plan does first
    assert store.load("u/r/x", "v1") is None
    assert dropped is not None and dropped.plan_file == plan_file and plan_file.exists()  # kept until replaced
    newer = store.plan_file("u/r/x", "v1", run_id="r2")
    newer.write_bytes(b"PK")
    store.save("u/r/x", "v1", newer, summarize_plan(PLAN, True), run_id="r2", supersedes=dropped)
    assert store.load("u/r/x", "v1").plan_file == newer and not plan_file.exists()  # no pile-up of plans
