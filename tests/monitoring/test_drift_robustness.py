"""The drift probe against odd input: malformed state files, units it cannot compare, a full plan's
standing verdict, applied units whose state vanished, and security-group rules managed separately."""

from __future__ import annotations

import dagster as dg
import pytest

from ml_clusters.execution.plan_summary import PlanSummary, ResourceChange
from ml_clusters.sensors.core import build_probe_sensor
from tests.monitoring.emulator import MAIN, STATE_BUCKET, state_resource, state_v4
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick
from tests.monitoring.test_drift import NETWORKING, _plan_run, seed_networking

KMS = "main-account/us-east-1/kms"
KMS_KEY = "main/us-east-1/kms/terraform.tfstate"


def _block(**overrides):
    block = state_resource("aws_kms_key", "this", {"id": "k-1", "key_id": "k-1", "is_enabled": True})
    block.update(overrides)
    return block


MALFORMED = {
    "serial not a number": ({**state_v4(1, []), "serial": "abc"}, "serial 'abc' is not an integer"),
    "resources an object": ({**state_v4(1, []), "resources": {}}, '"resources" is dict, expected list'),
    "block without type": (state_v4(1, [{k: v for k, v in _block().items() if k != "type"}]), "resources[0] has no type/name"),
    "attributes a list": (
        state_v4(1, [_block(instances=[{"attributes": ["id", "k-1"]}])]),
        "aws_kms_key.this attributes is list, expected dict",
    ),
    "instances not a list": (state_v4(1, [_block(instances="nope")]), "aws_kms_key.this instances is str, expected list"),
    "top level a list": ([1, 2], "not a Terraform state object"),
}


@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_a_malformed_state_costs_only_its_unit(shape, emulator, estate, translator, instance):
    seed_networking(emulator)
    state, reason = MALFORMED[shape]
    emulator.put_state(KMS_KEY, state)

    checks = evaluations(tick(monitoring_defs(estate, translator), "drift_sensor", instance))

    assert checks[NETWORKING].passed, checks[NETWORKING].description  # the other units still report
    bad = checks[KMS]
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.WARN
    assert bad.description.startswith(f"state unreadable: s3://{STATE_BUCKET}/{KMS_KEY}: ")
    assert reason in bad.description


def test_tags_of_the_wrong_shape_are_reported_on_the_resource(emulator, estate, translator, instance):
    vpc_id = seed_networking(emulator)
    bad_vpc = {"id": vpc_id, "cidr_block": "10.0.0.0/16", "tags_all": "Name=oops"}
    emulator.put_state(KMS_KEY, state_v4(2, [state_resource("aws_vpc", "odd", bad_vpc)]))

    checks = evaluations(tick(monitoring_defs(estate, translator), "drift_sensor", instance))

    assert checks[NETWORKING].passed
    assert not checks[KMS].passed and checks[KMS].severity == dg.AssetCheckSeverity.WARN
    assert "aws_vpc.odd: unexpected attribute shape" in checks[KMS].description


def test_an_unexpected_probe_error_is_a_warning_and_every_unit_is_skipped(estate, translator, instance):
    def broken_probe(ctx, units):
        raise RuntimeError("boom")

    units = [estate.units[NETWORKING], estate.units[KMS]]
    sensor = build_probe_sensor(
        name="broken", area="drift", probe=broken_probe, estate=estate, translator=translator, units=units,
        minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.STOPPED, description="",
    )
    defs = dg.Definitions(sensors=[sensor], resources=monitoring_defs(estate, translator).resources)
    result = tick(defs, "broken", instance)
    assert evaluations(result) == {}
    skipped = {unit: numbers["drift/skipped"] for unit, numbers in observations(result).items()}
    assert set(skipped) == {NETWORKING, KMS}
    assert all("probe failed unexpectedly (RuntimeError: boom)" in reason for reason in skipped.values())


def test_units_without_compared_resources_get_an_observation_not_a_pass(emulator, estate, translator, instance):
    iam = "main-account/us-east-1/iam"
    role = state_resource("aws_iam_role", "node", {"id": "ml-node", "name": "ml-node", "arn": "arn:aws:iam::1:role/ml-node"})
    emulator.put_state("main/us-east-1/iam/terraform.tfstate", state_v4(3, [role]))

    result = tick(monitoring_defs(estate, translator), "drift_sensor", instance)

    assert iam not in evaluations(result)
    seen = observations(result)[iam]
    assert seen["drift/resources_compared"] == 0
    assert seen["drift/note"].startswith("not compared by the fast probe: none of its 1 resource(s)")


def _stored(instance: dg.DagsterInstance, result: dg.SensorResult) -> dg.SensorResult:
    """Record a tick's events as the daemon does after evaluating the sensor."""
    for event in result.asset_events or []:
        instance.report_runless_asset_event(event)
    return result


def test_the_probe_does_not_overwrite_a_failed_full_plan_of_the_same_state(emulator, estate, translator, instance):
    seed_networking(emulator)
    drifted = ResourceChange("aws_route_table.private", "aws_route_table", ("update",))
    _plan_run(instance, {NETWORKING: PlanSummary(changes=(drifted,), drift=(drifted,), output_changes=(), has_changes=True)})
    defs = monitoring_defs(estate, translator)
    plan_result = _stored(instance, tick(defs, "plan_drift_sensor", instance))
    assert not evaluations(plan_result)[NETWORKING].passed

    # The route table is not in the probe's curated set: the probe sees nothing wrong, and must not
    # replace the plan's failure with a pass.
    result = tick(defs, "drift_sensor", instance)
    assert NETWORKING not in evaluations(result)
    note = observations(result)[NETWORKING]["drift/note"]
    assert "the last full plan of this state failed: plan found drift in 1 resource(s)" in note

    # A clean plan later: the probe may pass the unit again.
    _plan_run(instance, {NETWORKING: PlanSummary(changes=(), drift=(), output_changes=(), has_changes=False)})
    assert evaluations(_stored(instance, tick(defs, "plan_drift_sensor", instance, cursor=plan_result.cursor)))[NETWORKING].passed
    assert evaluations(tick(defs, "drift_sensor", instance))[NETWORKING].passed


def test_state_missing_for_an_applied_unit_fails(emulator, estate, translator, instance):
    seed_networking(emulator)  # creates the state bucket; the kms state was never written (or was deleted)
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=dg.AssetKey(KMS.split("/")), metadata={"mode": "apply"}))

    check = evaluations(tick(monitoring_defs(estate, translator), "drift_sensor", instance))[KMS]

    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.description.startswith(f"state missing for an applied unit: no object at s3://{STATE_BUCKET}/{KMS_KEY}")


def _seed_group_with_rule(emulator) -> tuple[str, str]:
    ec2 = emulator.client(MAIN, "us-east-1", "ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group_id = ec2.create_security_group(GroupName="fsx", Description="fsx", VpcId=vpc_id)["GroupId"]
    [rule] = ec2.authorize_security_group_ingress(
        GroupId=group_id, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 988, "ToPort": 988, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    )["SecurityGroupRules"]
    rule_id = rule["SecurityGroupRuleId"]
    # As the state records it before a refresh: the group's inline lists empty, the rule separate.
    group = {"id": group_id, "name": "fsx", "vpc_id": vpc_id, "ingress": [], "egress": []}
    recorded_rule = {
        "id": rule_id, "security_group_rule_id": rule_id, "security_group_id": group_id,
        "ip_protocol": "tcp", "from_port": 988, "to_port": 988, "cidr_ipv4": "10.0.0.0/16",
        "referenced_security_group_id": None,
    }
    emulator.put_state(
        "main/us-east-1/shared-storage/terraform.tfstate",
        state_v4(5, [
            state_resource("aws_security_group", "fsx", group),
            state_resource("aws_vpc_security_group_ingress_rule", "fsx_vpc", recorded_rule),
        ]),
    )
    return group_id, rule_id


def test_separately_managed_security_group_rules_are_compared_by_rule_id(emulator, estate, translator, instance):
    group_id, rule_id = _seed_group_with_rule(emulator)
    storage = "main-account/us-east-1/shared-storage"
    defs = monitoring_defs(estate, translator)
    ec2 = emulator.client(MAIN, "us-east-1", "ec2")

    result = tick(defs, "drift_sensor", instance)
    check = evaluations(result)[storage]
    assert check.passed, check.description  # the group's empty inline lists are not compared
    assert observations(result)[storage]["drift/resources_compared"] == 2

    # Someone widens the rule by hand.
    ec2.modify_security_group_rules(
        GroupId=group_id,
        SecurityGroupRules=[{"SecurityGroupRuleId": rule_id, "SecurityGroupRule": {
            "IpProtocol": "tcp", "FromPort": 988, "ToPort": 988, "CidrIpv4": "0.0.0.0/0"}}],
    )
    check = evaluations(tick(defs, "drift_sensor", instance))[storage]
    assert not check.passed
    assert "aws_vpc_security_group_ingress_rule.fsx_vpc cidr_ipv4 10.0.0.0/16 → 0.0.0.0/0" in check.description

    # ... and then removes it.
    ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[rule_id])
    check = evaluations(tick(defs, "drift_sensor", instance))[storage]
    assert not check.passed
    assert "aws_vpc_security_group_ingress_rule.fsx_vpc (resource) exists → not found" in check.description


def test_the_cursor_keeps_each_state_etag(emulator, estate, translator, instance):
    import json

    seed_networking(emulator, serial=7)
    defs = monitoring_defs(estate, translator)
    first = tick(defs, "drift_sensor", instance)
    etag = json.loads(first.cursor)["extra"]["state_etags"][NETWORKING]
    assert etag
    seed_networking(emulator, serial=8)  # an apply writes a new state
    second = tick(defs, "drift_sensor", instance, cursor=first.cursor)
    assert json.loads(second.cursor)["extra"]["state_etags"][NETWORKING] not in ("", etag)


def test_each_finished_plan_run_is_reported_once(estate, translator, instance):
    """Two plan runs finishing close together: the first tick reports both verdicts, later ticks with
    no new run report nothing (no old verdict re-emitted on every tick)."""
    eks = "main-account/us-east-1/eks-training"
    drifted = ResourceChange("aws_eks_node_group.gpu", "aws_eks_node_group", ("update",))
    _plan_run(instance, {eks: PlanSummary(changes=(drifted,), drift=(drifted,), output_changes=(), has_changes=True)})
    _plan_run(instance, {KMS: PlanSummary(changes=(), drift=(), output_changes=(), has_changes=False)})
    defs = monitoring_defs(estate, translator)
    result = tick(defs, "plan_drift_sensor", instance)
    checks = evaluations(result)
    assert set(checks) == {eks, KMS} and not checks[eks].passed and checks[KMS].passed
    for _ in range(3):
        result = tick(defs, "plan_drift_sensor", instance, cursor=result.cursor)
        assert evaluations(result) == {}

    # A third run later is reported, alone, once.
    _plan_run(instance, {eks: PlanSummary(changes=(), drift=(), output_changes=(), has_changes=False)})
    result = tick(defs, "plan_drift_sensor", instance, cursor=result.cursor)
    assert set(evaluations(result)) == {eks} and evaluations(result)[eks].passed
    assert evaluations(tick(defs, "plan_drift_sensor", instance, cursor=result.cursor)) == {}


def test_a_failed_plan_is_stale_once_the_state_is_written_after_the_plan_ran(emulator, estate, translator, instance):
    """The plan found drift; an apply then wrote the state; only after that did plan_drift_sensor record
    the verdict. The verdict is about the state before the apply, so the probe may judge the new state."""
    import time

    drifted = ResourceChange("aws_route_table.private", "aws_route_table", ("update",))
    _plan_run(instance, {NETWORKING: PlanSummary(changes=(drifted,), drift=(drifted,), output_changes=(), has_changes=True)})
    time.sleep(1.2)  # S3 LastModified has one-second resolution
    seed_networking(emulator)  # the apply writes the state after the plan ran
    defs = monitoring_defs(estate, translator)
    plan = evaluations(_stored(instance, tick(defs, "plan_drift_sensor", instance)))[NETWORKING]
    assert not plan.passed

    result = tick(defs, "drift_sensor", instance)
    assert evaluations(result)[NETWORKING].passed
    assert "last full plan" not in str(observations(result)[NETWORKING].get("drift/note", ""))
