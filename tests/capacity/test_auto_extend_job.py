"""Auto-extension: `plan_auto_extension` (for the capacity-expiry sensor) and the `extend_capacity_block` job."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from pydantic import ValidationError

from ml_clusters.capacity import aws
from ml_clusters.capacity.auto_extend import EXTEND_JOB_NAME, AutoExtendSettings, plan_auto_extension
from ml_clusters.capacity.defs import build_capacity_defs
from ml_clusters.estate import load_estate
from ml_clusters.translator import TerragruntTranslator

from .conftest import capacity_stubs
from .responses import NOW, at, call, extension_offering, extension_purchase, identity, reservation

ON = {"ml-clusters:auto-extend-hours": "24", "ml-clusters:auto-extend-max-price": "7000",
      "ml-clusters:unit": "main-account/us-east-1/parallelcluster"}
CLUSTER_KEY = dg.AssetKey(["main-account", "us-east-1", "parallelcluster"])


# ------------------------------------------------------------------------------------- plan_auto_extension


def test_off_by_default():
    assert plan_auto_extension(reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=1)), now=NOW) is None
    assert AutoExtendSettings().enabled is False


def test_turning_it_on_requires_a_price_cap():
    with pytest.raises(ValidationError, match="auto-extension needs a price cap"):
        AutoExtendSettings(enabled=True, hours=24)
    with pytest.raises(ValidationError):
        AutoExtendSettings(enabled=True, hours=24, max_price=Decimal("0"))
    # tags without a cap, or with a malformed one, leave it off
    no_cap = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=1),
                         tags={"ml-clusters:auto-extend-hours": "24"})
    assert plan_auto_extension(no_cap, now=NOW) is None
    bad_cap = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=1),
                          tags={**ON, "ml-clusters:auto-extend-max-price": "lots"})
    assert plan_auto_extension(bad_cap, now=NOW) is None


def test_a_due_block_gets_one_run_request_per_end_date():
    due = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=3), tags=ON)
    request = plan_auto_extension(due, now=NOW)
    assert request is not None
    assert request.job_name == EXTEND_JOB_NAME
    assert request.run_key == "extend_capacity_block:cr-0aa11bb22cc33dd44:20260302T150000Z"
    assert request.run_config == {"ops": {"extend_capacity_block_op": {"config": {
        "reservation_id": "cr-0aa11bb22cc33dd44", "hours": 24, "max_price": 7000.0, "account": "483026362307",
        "region": "us-east-1", "cluster": "main-account/us-east-1/parallelcluster"}}}}
    assert request.tags["ml-clusters/trigger"] == "auto-extension"


@pytest.mark.parametrize("end, state", [(at(hours=7), "active"), (at(hours=-1), "active"),
                                        (at(hours=3), "expired"), (at(hours=3), "payment-pending")])
def test_blocks_not_due_are_left_alone(end, state):
    item = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=end, state=state, tags=ON)
    assert plan_auto_extension(item, now=NOW) is None


def test_explicit_settings_override_the_tags():
    item = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=10))
    settings = AutoExtendSettings(enabled=True, hours=48, max_price=Decimal("15000"), lead_hours=12)
    request = plan_auto_extension(item, settings, now=NOW)
    assert request.run_config["ops"]["extend_capacity_block_op"]["config"]["hours"] == 48


# ----------------------------------------------------------------------------------- the Dagster job


@pytest.fixture(scope="module")
def defs():
    estate = load_estate(Path(__file__).resolve().parents[2] / "terraform" / "live")
    return build_capacity_defs(estate, TerragruntTranslator())


def run_job(defs, run_config, calls, monkeypatch):
    stubbed = capacity_stubs.StubbedClients(calls)
    monkeypatch.setattr(aws, "client_factory", stubbed.factory)
    job = defs.resolve_job_def(EXTEND_JOB_NAME)
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
        observed = [r.asset_observation for r in instance.fetch_observations(CLUSTER_KEY, limit=10).records]
    return result, stubbed, observed


DUE = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=NOW + timedelta(hours=3), tags=ON)
EXT = extension_offering("cbeo-0123456789abcdef0", DUE, 24, fee="6041.09")


def job_calls(fee="6041.09", buy=True):
    offering = {**EXT, "UpfrontFee": fee}
    calls = [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [DUE]},
                  expected={"CapacityReservationIds": ["cr-0aa11bb22cc33dd44"]}),
             call("ec2", "describe_capacity_block_extension_offerings",
                  {"CapacityBlockExtensionOfferings": [offering]},
                  expected={"CapacityBlockExtensionDurationHours": 24, "CapacityReservationId": "cr-0aa11bb22cc33dd44"})]
    if buy:
        calls.append(identity(DUE["OwnerId"]))
        calls.append(call("ec2", "purchase_capacity_block_extension", extension_purchase(offering, DUE[
            "CapacityReservationId"]), expected={"CapacityBlockExtensionOfferingId": "cbeo-0123456789abcdef0",
                                                 "CapacityReservationId": "cr-0aa11bb22cc33dd44"}))
    return calls


def test_the_sensor_request_runs_the_job_which_extends_and_records_on_the_cluster(defs, monkeypatch, capacity_env):
    request = plan_auto_extension(DUE, now=NOW)
    result, stubbed, observed = run_job(defs, request.run_config, job_calls(), monkeypatch)
    assert result.success
    assert stubbed.methods_called() == ["describe_capacity_reservations",
                                        "describe_capacity_block_extension_offerings", "get_caller_identity",
                                        "purchase_capacity_block_extension"]
    [obs] = observed
    assert obs.metadata["capacity/event"].value == "capacity block extended"
    assert obs.metadata["capacity/upfront_fee"].value == 6041.09
    assert obs.metadata["capacity/via"].value.startswith("dagster job extend_capacity_block (run ")
    assert obs.metadata["capacity/new_end"].value == "2026-03-03T15:00:00Z"


def test_the_job_refuses_an_extension_above_the_cap(defs, monkeypatch, capacity_env):
    request = plan_auto_extension(DUE, now=NOW)
    result, stubbed, observed = run_job(defs, request.run_config, job_calls(fee="7300.00", buy=False), monkeypatch)
    assert not result.success
    failure = result.failure_data_for_node("extend_capacity_block_op")
    assert failure.user_failure_data.description == (
        "refused: upfront fee 7,300.00 USD is above max_price 7,000.00 USD; nothing bought")
    assert "purchase_capacity_block_extension" not in stubbed.methods_called()
    assert observed == []


def test_the_job_config_requires_a_positive_price_cap(defs):
    job = defs.resolve_job_def(EXTEND_JOB_NAME)
    config = {"ops": {"extend_capacity_block_op": {"config": {
        "reservation_id": "cr-0aa11bb22cc33dd44", "hours": 24, "account": "main", "region": "us-east-1"}}}}
    with pytest.raises(dg.DagsterInvalidConfigError, match="max_price"):
        job.execute_in_process(run_config=config)


def test_capacity_defs_merge_and_validate(defs):
    merged = dg.Definitions.merge(dg.Definitions(), defs)
    assert merged.resolve_job_def(EXTEND_JOB_NAME).name == EXTEND_JOB_NAME
    dg.Definitions.validate_loadable(merged)


def test_an_extension_of_a_block_tagged_with_its_capacity_block_unit_is_recorded_on_the_cluster(defs, monkeypatch,
                                                                                            capacity_env):
    block_unit = "main-account/us-east-1/capacity-block"
    due = {**DUE, "Tags": [t for t in DUE["Tags"] if t["Key"] != "ml-clusters:unit"]
           + [{"Key": "ml-clusters:unit", "Value": block_unit}]}
    request = plan_auto_extension(due, now=NOW)
    calls = job_calls()
    calls[0] = {**calls[0], "response": {"CapacityReservations": [due]}}
    result, _, observed = run_job(defs, request.run_config, calls, monkeypatch)
    assert result.success
    [obs] = observed  # on main-account/us-east-1/parallelcluster, the cluster that depends on the block's unit
    assert obs.metadata["capacity/event"].value == "capacity block extended"
    output = result.output_for_node("extend_capacity_block_op")
    assert output["clusters"] == ["main-account/us-east-1/parallelcluster"]
    assert output["recorded_on"] == ["main-account/us-east-1/parallelcluster", block_unit]


def test_the_job_refuses_when_its_credentials_belong_to_another_account(defs, monkeypatch, capacity_env):
    request = plan_auto_extension(DUE, now=NOW)
    calls = [c if c["method"] != "get_caller_identity" else identity("123456789012") for c in job_calls()]
    result, stubbed, observed = run_job(defs, request.run_config, calls, monkeypatch)
    assert not result.success
    description = result.failure_data_for_node("extend_capacity_block_op").user_failure_data.description
    assert "refusing to buy in main-account (483026362307): the credentials in use belong to account 123456789012" \
        in description
    assert "purchase_capacity_block_extension" not in stubbed.methods_called()
    assert observed == []
