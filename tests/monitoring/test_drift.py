"""drift_sensor (fast probe) and the full-plan wiring, against state files in the emulator's state bucket."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.dependency import NodeHandle
from dagster._core.execution.api import create_execution_plan

from ml_clusters.assets.terragrunt_units import ASSETS_NAME, build_unit_defs
from ml_clusters.execution.plan_summary import PlanSummary, ResourceChange
from ml_clusters.execution.step import PLAN_SAFE, _summary_metadata
from ml_clusters.sensors.drift import PLAN_RUN_CONFIG
from tests.monitoring.emulator import MAIN, STATE_BUCKET, Emulator, state_resource, state_v4, tag_list, unit_tags
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick

NETWORKING = "main-account/us-east-1/networking"
CENTRAL = "main-account/us-east-1/s3-central-data"
CENTRAL_BUCKET = "ml-clusters-data-483026362307-us-east-1"
NETWORKING_KEY = dg.AssetKey(NETWORKING.split("/"))


@pytest.fixture
def terragrunt_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A terragrunt executable where the execution plane looks for it ($ML_CLUSTERS_TERRAGRUNT)."""
    binary = tmp_path / "bin" / "terragrunt"
    binary.parent.mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", str(binary))
    monkeypatch.delenv("ML_CLUSTERS_TF_PATH", raising=False)
    return binary


@pytest.fixture
def terragrunt_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's situation: no ML_CLUSTERS_TERRAGRUNT, and no `terragrunt` on PATH."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.delenv("ML_CLUSTERS_TERRAGRUNT", raising=False)
    monkeypatch.delenv("ML_CLUSTERS_TF_PATH", raising=False)
    monkeypatch.setenv("PATH", str(empty))


def seed_networking(emulator: Emulator, serial: int = 7) -> str:
    """A VPC as Terraform created it, and the state that records it."""
    ec2 = emulator.client(MAIN, "us-east-1", "ec2")
    tags = unit_tags(NETWORKING, Name="ml-clusters-main-use1")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_tags(Resources=[vpc_id], Tags=tag_list(tags))
    vpc = {"id": vpc_id, "cidr_block": "10.0.0.0/16", "tags": {"Name": tags["Name"]}, "tags_all": tags}
    emulator.put_state(
        "main/us-east-1/networking/terraform.tfstate",
        state_v4(serial, [state_resource("aws_vpc", "this", vpc, module="module.vpc")]),
    )
    return vpc_id


def seed_central_bucket(emulator: Emulator) -> None:
    emulator.bucket(MAIN, "us-east-1", CENTRAL_BUCKET, CENTRAL)
    s3 = emulator.client(MAIN, "us-east-1", "s3")
    flags = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    s3.put_public_access_block(Bucket=CENTRAL_BUCKET, PublicAccessBlockConfiguration=flags)
    emulator.put_state(
        "main/us-east-1/s3-central-data/terraform.tfstate",
        state_v4(
            3,
            [
                state_resource("aws_s3_bucket", "this", {"id": CENTRAL_BUCKET, "bucket": CENTRAL_BUCKET, "tags": {}, "tags_all": unit_tags(CENTRAL)}),
                state_resource(
                    "aws_s3_bucket_versioning", "this", {"bucket": CENTRAL_BUCKET, "versioning_configuration": [{"status": "Enabled", "mfa_delete": ""}]}
                ),
                state_resource(
                    "aws_s3_bucket_public_access_block",
                    "this",
                    {"bucket": CENTRAL_BUCKET, "block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True, "restrict_public_buckets": True},
                ),
            ],
        ),
    )


def test_vpc_tag_drift_fails_the_check_requests_one_plan_and_recovers(emulator, estate, translator, instance, terragrunt_installed):
    vpc_id = seed_networking(emulator, serial=7)
    defs = monitoring_defs(estate, translator)

    result = tick(defs, "drift_sensor", instance)
    checks = evaluations(result)
    assert checks[NETWORKING].passed, checks[NETWORKING].description
    assert checks[NETWORKING].metadata["state"].value == f"s3://{STATE_BUCKET}/main/us-east-1/networking/terraform.tfstate"
    assert not result.run_requests
    # Units that were never applied have no state: nothing compared, so no verdict — an observation.
    assert "secondary-account/us-west-2/hyperpod-slurm" not in checks
    note = observations(result)["secondary-account/us-west-2/hyperpod-slurm"]["drift/note"]
    assert note.startswith("not deployed: no state at s3://")

    # Someone renames the VPC in the console.
    emulator.client(MAIN, "us-east-1", "ec2").create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    result = tick(defs, "drift_sensor", instance, cursor=result.cursor)
    check = evaluations(result)[NETWORKING]
    assert not check.passed
    assert "module.vpc.aws_vpc.this tags.Name ml-clusters-main-use1 → renamed-by-hand" in check.description
    assert "renamed-by-hand" in check.metadata["differences"].value
    assert observations(result)[NETWORKING]["drift/drifted_attributes"] == 1
    [request] = result.run_requests
    assert request.asset_selection == [NETWORKING_KEY]
    # Only the guard's check rides along: a plan run must not touch the no_drift result just reported.
    assert request.asset_check_keys == [dg.AssetCheckKey(NETWORKING_KEY, PLAN_SAFE)]
    assert request.run_key == f"{NETWORKING}:7"  # once per state serial
    assert request.run_config == PLAN_RUN_CONFIG == {"ops": {"terragrunt_units": {"config": {"mode": "plan"}}}}
    assert request.tags == {"ml-clusters/trigger": "drift-probe", "ml-clusters/unit": NETWORKING, "ml-clusters/mode": "plan"}
    assert check.metadata["plan"].value == f"plan-mode run requested (run key {NETWORKING}:7)"
    assert check.description.endswith("a plan of this unit was requested")

    # The tag is put back: the check passes again and no plan is requested.
    emulator.client(MAIN, "us-east-1", "ec2").create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "ml-clusters-main-use1"}])
    result = tick(defs, "drift_sensor", instance, cursor=result.cursor)
    assert evaluations(result)[NETWORKING].passed
    assert not result.run_requests


def _executed_by(job: dg.JobDefinition, request: dg.RunRequest) -> dict[str, set]:
    """Step key → asset and check keys that step handles, in the run the daemon would create for this
    request (the sensor's job subset to the request's asset selection and asset check keys)."""
    subset = job.get_subset(
        asset_selection=set(request.asset_selection or ()),
        asset_check_selection=set(request.asset_check_keys) if request.asset_check_keys is not None else None,
    )
    plan = create_execution_plan(subset, run_config=request.run_config)
    return {
        step: set(subset.asset_layer.get_selected_entity_keys_for_node(NodeHandle(step, None)))
        for step in plan.step_keys_to_execute
    }


def test_requested_plan_run_carries_only_the_unit_and_its_plan_safe_check(emulator, estate, translator, instance, terragrunt_installed):
    vpc_id = seed_networking(emulator, serial=7)
    emulator.client(MAIN, "us-east-1", "ec2").create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])
    # The product's assembly: the unit assets (with plan_safe) and the monitoring checks (with no_drift).
    defs = dg.Definitions.merge(build_unit_defs(estate, translator), monitoring_defs(estate, translator))
    [request] = tick(defs, "drift_sensor", instance).run_requests

    sensor_job = defs.get_repository_def().get_job(defs.resolve_sensor_def("drift_sensor").job_name)
    assert _executed_by(sensor_job, request) == {ASSETS_NAME: {NETWORKING_KEY, dg.AssetCheckKey(NETWORKING_KEY, PLAN_SAFE)}}
    # Why the request names its checks: with an asset selection alone, Dagster runs every check of the
    # selected asset — no_drift included, which plan mode cannot feed (no materialization), so it would
    # end as "Execution failed" over the result the probe just reported.
    unrestricted = dg.RunRequest(asset_selection=request.asset_selection, run_config=request.run_config)
    assert "no_drift_check" in _executed_by(sensor_job, unrestricted)


def test_without_terragrunt_no_plan_is_requested_and_the_check_says_why(emulator, estate, translator, instance, terragrunt_missing):
    vpc_id = seed_networking(emulator, serial=7)
    emulator.client(MAIN, "us-east-1", "ec2").create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "renamed-by-hand"}])

    result = tick(monitoring_defs(estate, translator), "drift_sensor", instance)

    assert not result.run_requests  # a run that fails at once would mark the checks "Execution failed"
    check = evaluations(result)[NETWORKING]
    assert not check.passed  # the probe's own verdict and its diff stay visible
    assert "renamed-by-hand" in check.metadata["differences"].value
    note = "plan not requested: terragrunt not installed (install Terragrunt >= 1.0 and OpenTofu >= 1.10)"
    assert check.metadata["plan"].value == note
    assert check.description.endswith(note)


def test_s3_settings_drift_and_deleted_resources(emulator, estate, translator, instance):
    seed_central_bucket(emulator)
    defs = monitoring_defs(estate, translator)
    assert evaluations(tick(defs, "drift_sensor", instance))[CENTRAL].passed

    s3 = emulator.client(MAIN, "us-east-1", "s3")
    s3.put_bucket_versioning(Bucket=CENTRAL_BUCKET, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=CENTRAL_BUCKET)
    check = evaluations(tick(defs, "drift_sensor", instance))[CENTRAL]
    assert not check.passed
    table = check.metadata["differences"].value
    assert "versioning_configuration.status | Enabled | Suspended" in table
    assert "block_public_policy | true | false" in table
    assert check.metadata["drifted_resources"].value == 2

    s3.put_bucket_versioning(Bucket=CENTRAL_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=CENTRAL_BUCKET,
        PublicAccessBlockConfiguration={"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
    )
    assert evaluations(tick(defs, "drift_sensor", instance))[CENTRAL].passed

    # Deleted out of band: every resource of the unit is reported missing.
    s3.delete_public_access_block(Bucket=CENTRAL_BUCKET)
    s3.delete_bucket_tagging(Bucket=CENTRAL_BUCKET)
    s3.delete_bucket(Bucket=CENTRAL_BUCKET)
    check = evaluations(tick(defs, "drift_sensor", instance))[CENTRAL]
    assert not check.passed
    assert check.metadata["differences"].value.count("not found") == 3


def test_unsupported_state_version_is_a_warning_naming_the_file(emulator, estate, translator, instance):
    emulator.put_state("main/us-east-1/kms/terraform.tfstate", {"version": 3, "serial": 1, "modules": []})
    check = evaluations(tick(monitoring_defs(estate, translator), "drift_sensor", instance))["main-account/us-east-1/kms"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN  # cannot be vouched for
    assert check.description == (
        f"state unreadable: s3://{STATE_BUCKET}/main/us-east-1/kms/terraform.tfstate: "
        "state format version 3 is not supported (expected 4)"
    )


def test_daily_full_plan_plans_every_unit_in_plan_mode(estate, translator):
    defs = dg.Definitions.merge(
        build_unit_defs(estate, translator), monitoring_defs(estate, translator, full_plan_cron="30 4 * * *")
    )
    schedule = defs.resolve_schedule_def("daily_full_plan")
    assert schedule.cron_schedule == "30 4 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def(schedule.job_name)
    assert job.asset_layer.selected_asset_keys == {translator.get_asset_key(u) for u in estate.units.values()}
    [request] = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert request.run_config == PLAN_RUN_CONFIG
    # The run config is valid for the execution plane's op (mode is a Literal["plan", "apply"]).
    dg.validate_run_config(job, request.run_config)
    # Every unit and its plan_safe check, nothing else: plan mode records no materialization, so
    # any other check of the units (no_drift, the sensors' checks) would end as "Execution failed".
    [(step, handled)] = _executed_by(job, request).items()
    assert step == ASSETS_NAME
    assert {k for k in handled if isinstance(k, dg.AssetCheckKey)} == {
        dg.AssetCheckKey(translator.get_asset_key(u), PLAN_SAFE) for u in estate.units.values()
    }


def _plan_run(instance: dg.DagsterInstance, plans: dict[str, PlanSummary]) -> None:
    """A finished plan run whose observations carry the execution plane's plan metadata."""
    keys = {unit: dg.AssetKey(unit.split("/")) for unit in plans}

    @dg.multi_asset(specs=[dg.AssetSpec(k, skippable=True) for k in keys.values()], name="terragrunt_units")
    def plan_only():
        for unit, summary in plans.items():
            # The exact metadata the execution plane's plan step records (ml_clusters.execution.step).
            yield dg.AssetObservation(asset_key=keys[unit], metadata={"mode": "plan", **_summary_metadata(summary)})

    assert dg.materialize([plan_only], instance=instance).success


def test_full_plan_results_report_no_drift(estate, translator, instance):
    eks = "main-account/us-east-1/eks-training"
    kms = "main-account/us-east-1/kms"
    iam = "main-account/us-east-1/iam"
    drifted = ResourceChange("aws_eks_node_group.gpu", "aws_eks_node_group", ("update",))
    _plan_run(
        instance,
        {
            eks: PlanSummary(changes=(drifted,), drift=(drifted,), output_changes=(), has_changes=True),
            kms: PlanSummary(changes=(), drift=(), output_changes=(), has_changes=False),
            iam: PlanSummary(changes=(ResourceChange("aws_iam_role.x", "aws_iam_role", ("create",)),), drift=(), output_changes=(), has_changes=True),
        },
    )
    defs = monitoring_defs(estate, translator)
    result = tick(defs, "plan_drift_sensor", instance)
    checks = evaluations(result)
    assert not checks[eks].passed and checks[eks].severity == dg.AssetCheckSeverity.ERROR
    assert "drift in 1 resource(s)" in checks[eks].description
    assert checks[kms].passed
    assert not checks[iam].passed and checks[iam].severity == dg.AssetCheckSeverity.WARN  # exit code 2
    assert "pending changes" in checks[iam].description

    # Nothing new: nothing reported again.
    result = tick(defs, "plan_drift_sensor", instance, cursor=result.cursor)
    assert evaluations(result) == {}

    # The next plan after the fix (apply or revert) comes back clean.
    _plan_run(instance, {eks: PlanSummary(changes=(), drift=(), output_changes=(), has_changes=False)})
    checks = evaluations(tick(defs, "plan_drift_sensor", instance, cursor=result.cursor))
    assert set(checks) == {eks} and checks[eks].passed
