"""capacity_expiry_sensor: the emulator has no capacity reservations or training plans (HTTP 500), so
those two APIs are Stubbers in the slices that hold capacity; the other slices show the honest skip."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pytest

from ml_clusters.sensors.settings import MonitoringSettings

from tests.monitoring.emulator import MAIN, SECONDARY, tag_list, unit_tags
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick
from tests.monitoring.stubs import StubbedAwsAccounts

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
CAPACITY_UNIT = "main-account/us-east-1/capacity-block"
PCLUSTER = "main-account/us-east-1/parallelcluster"
HYPERPOD = "secondary-account/us-west-2/hyperpod-slurm"
PLAN_ARN = f"arn:aws:sagemaker:us-west-2:{SECONDARY}:training-plan/ml-train-plan-june"
# Only documented filters (the Stubber checks the shape, not the filter names): live states server-side;
# the sensor keeps the Capacity Blocks (ReservationType) itself.
BLOCK_FILTER = {
    "Filters": [
        {
            "Name": "state",
            "Values": ["active", "assessing", "delayed", "payment-failed", "payment-pending", "pending", "scheduled"],
        }
    ]
}


def block(reservation_id: str, ends_in: timedelta, state: str = "active") -> dict:
    return {
        "CapacityReservationId": reservation_id,
        "CapacityReservationArn": f"arn:aws:ec2:us-east-1:{MAIN}:capacity-reservation/{reservation_id}",
        "CapacityBlockId": f"cb-{reservation_id[-6:]}",
        "OwnerId": MAIN,
        "InstanceType": "p5.48xlarge",
        "InstancePlatform": "Linux/UNIX",
        "AvailabilityZone": "us-east-1a",
        "TotalInstanceCount": 2,
        "AvailableInstanceCount": 0,
        "State": state,
        "StartDate": NOW - timedelta(days=1),
        "EndDate": NOW + ends_in,
        "ReservationType": "capacity-block",
        "Tags": tag_list(unit_tags(CAPACITY_UNIT)),
    }


def training_plan(ends_in: timedelta) -> dict:
    return {
        "TrainingPlanArn": PLAN_ARN,
        "TrainingPlanName": "ml-train-plan-june",
        "Status": "Active",
        "StartTime": NOW - timedelta(days=2),
        "EndTime": NOW + ends_in,
        "TotalInstanceCount": 4,
        "ReservedCapacitySummaries": [
            {
                "ReservedCapacityArn": f"arn:aws:sagemaker:us-west-2:{SECONDARY}:reserved-capacity/rc-1",
                "InstanceType": "ml.p5.48xlarge",
                "TotalInstanceCount": 4,
                "Status": "Active",
                "AvailabilityZone": "us-west-2b",
            }
        ],
    }


def queue_tick(aws: StubbedAwsAccounts, blocks: list[dict], plan: dict, offerings: dict[str, list[dict]] | None = None) -> None:
    """The responses AWS would give during one tick, in the order the sensor asks."""
    ec2 = aws.stub(MAIN, "us-east-1", "ec2")
    ec2.add_response("describe_capacity_reservations", {"CapacityReservations": blocks}, BLOCK_FILTER)
    for reservation_id, offers in (offerings or {}).items():
        ec2.add_response(
            "describe_capacity_block_extension_offerings",
            {"CapacityBlockExtensionOfferings": offers},
            {"CapacityReservationId": reservation_id, "CapacityBlockExtensionDurationHours": 24},
        )
    aws.stub(MAIN, "us-east-1", "sagemaker").add_response("list_training_plans", {"TrainingPlanSummaries": []}, {})
    aws.stub(SECONDARY, "us-west-2", "ec2").add_response("describe_capacity_reservations", {"CapacityReservations": []}, BLOCK_FILTER)
    aws.stub(SECONDARY, "us-west-2", "sagemaker").add_response("list_training_plans", {"TrainingPlanSummaries": [plan]}, {})


def offering(offering_id: str, fee: str) -> dict:
    return {
        "CapacityBlockExtensionOfferingId": offering_id,
        "InstanceType": "p5.48xlarge",
        "InstanceCount": 2,
        "AvailabilityZone": "us-east-1a",
        "CapacityBlockExtensionDurationHours": 24,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
    }


def record_hyperpod_outputs(instance: dg.DagsterInstance) -> None:
    """The HyperPod unit's last apply recorded the training plan it uses (Training Plans have no tags here)."""
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=dg.AssetKey(HYPERPOD.split("/")),
            metadata={"mode": "apply", "outputs": dg.MetadataValue.json({"cluster_name": "hp-slurm", "training_plan_arn": PLAN_ARN})},
        )
    )


def test_capacity_block_ending_in_45_minutes_is_critical_until_extended(emulator, estate, translator, instance):
    record_hyperpod_outputs(instance)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)

    queue_tick(aws, [block("cr-0aaaaaaaaaaaaaaa1", timedelta(days=10))], training_plan(timedelta(days=10)))
    result = tick(defs, "capacity_expiry_sensor", instance)
    checks = evaluations(result)
    for unit in (CAPACITY_UNIT, PCLUSTER, HYPERPOD, "main-account/us-east-1/eks-training"):
        assert checks[unit].passed, (unit, checks[unit].description)
    assert observations(result)[PCLUSTER]["capacity/hours_left_min"] == 240
    assert observations(result)[HYPERPOD]["capacity/reserved_instances"] == 4
    # The emulator does not implement capacity reservations: that slice is skipped, visibly.
    assert "main-account/us-west-2/eks-inference" not in checks
    skipped = observations(result)["main-account/us-west-2/eks-inference"]["capacity/skipped"]
    assert "not supported by this endpoint" in skipped and "DescribeCapacityReservations" in skipped

    # A second block ends in 45 minutes: critical on the unit that bought it and the cluster using it.
    queue_tick(
        aws,
        [block("cr-0aaaaaaaaaaaaaaa1", timedelta(days=10)), block("cr-0bbbbbbbbbbbbbbb2", timedelta(minutes=45))],
        training_plan(timedelta(days=10)),
        offerings={"cr-0bbbbbbbbbbbbbbb2": [offering("cbe-expensive", "9000.00"), offering("cbe-cheap", "2500.50")]},
    )
    result = tick(defs, "capacity_expiry_sensor", instance, cursor=result.cursor)
    checks = evaluations(result)
    for unit in (CAPACITY_UNIT, PCLUSTER):
        check = checks[unit]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert "ends in 45 min" in check.description
        assert check.metadata["hours_left"].value == 0.75
        assert check.metadata["lead_time_crossed_hours"].value == 2.0
        assert check.metadata["instance_type"].value == "p5.48xlarge"
        assert check.metadata["instance_count"].value == 2
        assert check.metadata["availability_zone"].value == "us-east-1a"
        assert "2500.50 USD (offering cbe-cheap)" in check.metadata["cheapest_extension"].value
    assert checks["main-account/us-east-1/eks-training"].passed  # does not use that capacity
    assert checks[HYPERPOD].passed

    # Extended by 9 days: beyond every lead time again.
    queue_tick(
        aws,
        [block("cr-0aaaaaaaaaaaaaaa1", timedelta(days=10)), block("cr-0bbbbbbbbbbbbbbb2", timedelta(days=9))],
        training_plan(timedelta(days=10)),
    )
    checks = evaluations(tick(defs, "capacity_expiry_sensor", instance, cursor=result.cursor))
    assert checks[CAPACITY_UNIT].passed and checks[PCLUSTER].passed
    aws.assert_all_consumed()


def test_training_plan_inside_a_lead_time_warns_on_the_hyperpod_unit(emulator, estate, translator, instance):
    record_hyperpod_outputs(instance)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    queue_tick(aws, [], training_plan(timedelta(hours=20)))
    check = evaluations(tick(defs, "capacity_expiry_sensor", instance))[HYPERPOD]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "training-plan ml-train-plan-june ends in 20.0 h" in check.description
    assert check.metadata["instance_type"].value == "ml.p5.48xlarge"
    assert check.metadata["availability_zone"].value == "us-west-2b"
    aws.assert_all_consumed()


def test_a_block_tagged_for_auto_extension_requests_the_capacity_job(emulator, estate, translator, instance):
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    due = block("cr-0ccccccccccccccc3", timedelta(minutes=90))
    due["Tags"] += tag_list({"ml-clusters:auto-extend-hours": "24", "ml-clusters:auto-extend-max-price": "5000"})
    queue_tick(aws, [due], training_plan(timedelta(days=10)), offerings={"cr-0ccccccccccccccc3": [offering("cbe-1", "2500.50")]})
    result = tick(defs, "capacity_expiry_sensor", instance)
    [request] = result.run_requests
    assert request.job_name == "extend_capacity_block"
    config = request.run_config["ops"]["extend_capacity_block_op"]["config"]
    assert config["reservation_id"] == "cr-0ccccccccccccccc3" and config["hours"] == 24 and config["max_price"] == 5000.0
    assert config["region"] == "us-east-1" and config["cluster"] == CAPACITY_UNIT
    assert not evaluations(result)[CAPACITY_UNIT].passed  # still failing (inside the 2 h lead time) until the extension lands
    aws.assert_all_consumed()


def test_ordinary_capacity_reservations_are_not_capacity_blocks(emulator, estate, translator, instance):
    # An On-Demand Capacity Reservation of the same unit, ending within the hour: the EC2 listing
    # returns it (it is only filtered by state), the check must not count it as a Capacity Block.
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    on_demand = block("cr-0ddddddddddddddd4", timedelta(minutes=50))
    on_demand["ReservationType"] = "default"
    del on_demand["CapacityBlockId"]
    queue_tick(aws, [on_demand, block("cr-0aaaaaaaaaaaaaaa1", timedelta(days=10))], training_plan(timedelta(days=10)))
    result = tick(defs, "capacity_expiry_sensor", instance)
    check = evaluations(result)[CAPACITY_UNIT]
    assert check.passed, check.description
    assert observations(result)[CAPACITY_UNIT]["capacity/reservations"] == 1
    assert observations(result)[CAPACITY_UNIT]["capacity/hours_left_min"] == 240
    aws.assert_all_consumed()


def test_the_2_hour_lead_time_warns_before_the_critical_threshold(emulator, estate, translator, instance):
    # 90 minutes left: inside the smallest lead time (2 h), not yet critical (1 h).
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    queue_tick(
        aws,
        [block("cr-0bbbbbbbbbbbbbbb2", timedelta(minutes=90))],
        training_plan(timedelta(days=10)),
        offerings={"cr-0bbbbbbbbbbbbbbb2": []},
    )
    check = evaluations(tick(defs, "capacity_expiry_sensor", instance))[CAPACITY_UNIT]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "inside the 2 h lead time" in check.description
    assert check.metadata["lead_time_crossed_hours"].value == 2.0
    aws.assert_all_consumed()


def test_critical_threshold_must_be_below_the_smallest_lead_time():
    with pytest.raises(ValueError, match="must be below the smallest lead time"):
        MonitoringSettings(capacity_critical_hours=2.0)
    assert MonitoringSettings().capacity_critical_hours == 1.0


def _period(number: int, starts_in: timedelta, ends_in: timedelta, status: str) -> dict:
    return {
        "ReservedCapacityArn": f"arn:aws:sagemaker:us-west-2:{SECONDARY}:reserved-capacity/rc-{number}",
        "InstanceType": "ml.p5.48xlarge",
        "TotalInstanceCount": 4,
        "Status": status,
        "AvailabilityZone": "us-west-2b",
        "StartTime": NOW + starts_in,
        "EndTime": NOW + ends_in,
    }


def test_a_training_plan_is_graded_by_its_active_reserved_period_not_the_plan_end(emulator, estate, translator, instance):
    """A plan with two reserved periods: the running one ends in 50 minutes, the plan itself in 11 days.
    The nodes go away in 50 minutes, so that is what the check must say (critical), listing both periods."""
    record_hyperpod_outputs(instance)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    plan = training_plan(timedelta(days=11))
    plan["ReservedCapacitySummaries"] = [
        _period(2, timedelta(days=9), timedelta(days=11), "Scheduled"),
        _period(1, -timedelta(days=2), timedelta(minutes=50), "Active"),
    ]
    queue_tick(aws, [], plan)
    check = evaluations(tick(defs, "capacity_expiry_sensor", instance))[HYPERPOD]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR, check.description
    assert "training-plan ml-train-plan-june period 1/2 ends in 50 min" in check.description
    assert check.metadata["hours_left"].value == pytest.approx(50 / 60, abs=0.01)
    periods = check.metadata["training_plan_periods"].value
    assert "2026-06-01T12:50:00Z" in periods and "2026-06-12T12:00:00Z" in periods  # both periods listed
    aws.assert_all_consumed()


def test_between_reserved_periods_the_next_period_is_graded(emulator, estate, translator, instance):
    record_hyperpod_outputs(instance)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    plan = {**training_plan(timedelta(days=30)), "Status": "Scheduled"}
    plan["ReservedCapacitySummaries"] = [
        _period(1, -timedelta(days=5), -timedelta(days=1), "Expired"),
        _period(2, timedelta(hours=2), timedelta(hours=20), "Scheduled"),
        _period(3, timedelta(days=20), timedelta(days=30), "Scheduled"),
    ]
    queue_tick(aws, [], plan)
    check = evaluations(tick(defs, "capacity_expiry_sensor", instance))[HYPERPOD]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN, check.description
    assert "period 2/3 ends in 20.0 h" in check.description
    aws.assert_all_consumed()


@pytest.fixture
def tokyo_local_time(monkeypatch: pytest.MonkeyPatch):
    """The Dagster daemon's machine is not on UTC (botocore parses timestamps into the local zone)."""
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_training_plan_times_are_reported_in_utc_on_a_non_utc_machine(tokyo_local_time, emulator, estate, translator, instance):
    from dateutil.tz import tzlocal

    record_hyperpod_outputs(instance)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws, clock=lambda: NOW)
    plan = training_plan(timedelta(hours=20))
    # As botocore hands them over: the same instants, in the machine's zone (UTC+9 here).
    plan["StartTime"], plan["EndTime"] = (plan["StartTime"].astimezone(tzlocal()), plan["EndTime"].astimezone(tzlocal()))
    plan["ReservedCapacitySummaries"][0].update(StartTime=plan["StartTime"], EndTime=plan["EndTime"])
    queue_tick(aws, [], plan)
    check = evaluations(tick(defs, "capacity_expiry_sensor", instance))[HYPERPOD]
    assert "ends in 20.0 h (2026-06-02 08:00 UTC)" in check.description  # not 17:00, Tokyo's wall clock
    assert "2026-06-02T08:00:00Z" in check.metadata["capacity_table"].value
    assert "+09:00" not in check.metadata["training_plan_periods"].value
    aws.assert_all_consumed()
