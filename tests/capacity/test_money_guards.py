"""Guards found missing in review: each test failed before its fix.

- the extend job must never be re-run by Dagster's run retries (a re-run buys a second extension);
- a block owned by another account is never extended from this one (CLI and job);
- a connection that breaks during a purchase is an unknown outcome, not a plain failure;
- auto-extension only extends active blocks, and never with a lead time longer than the extension
  (the extended block would be due again at once and be extended over and over);
- `--max-price inf` is not a price cap.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from botocore.exceptions import ConnectionClosedError
from pydantic import ValidationError

from ml_clusters.capacity.auto_extend import EXTEND_JOB_NAME, AutoExtendSettings, plan_auto_extension
from ml_clusters.capacity.errors import explain

from .responses import MAIN_ID, NOW, at, call, extension_offering, extension_purchase, identity, reservation
from .test_auto_extend_job import DUE, ON, defs, job_calls, run_job  # noqa: F401 — `defs` is a fixture

REGION = ["--region", "us-east-1"]
OTHER_ID = "159553542841"


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


# ------------------------------------------------------------------------------- the Dagster job


def test_the_extend_job_is_never_rerun_by_dagster_run_retries(defs):  # noqa: F811
    tags = defs.resolve_job_def(EXTEND_JOB_NAME).tags
    assert tags["dagster/max_retries"] == "0"
    assert tags["dagster/retry_on_asset_or_op_failure"] == "false"


def test_the_job_refuses_a_block_owned_by_another_account(defs, monkeypatch, capacity_env):  # noqa: F811
    shared = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=DUE["EndDate"], account_id=OTHER_ID, tags=ON)
    request = plan_auto_extension(DUE, now=NOW)  # the config names main (483026362307)
    calls = job_calls()
    calls[0] = {**calls[0], "response": {"CapacityReservations": [shared]}}
    result, stubbed, observed = run_job(defs, request.run_config, calls, monkeypatch)
    assert not result.success
    description = result.failure_data_for_node("extend_capacity_block_op").user_failure_data.description
    assert description == (f"cr-0aa11bb22cc33dd44 belongs to account {OTHER_ID}, not main-account ({MAIN_ID}); "
                           "extend it in its owner's account; nothing bought")
    assert "purchase_capacity_block_extension" not in stubbed.methods_called()
    assert observed == []


def test_the_job_refuses_an_infinite_price_cap_before_any_aws_call(defs, monkeypatch, capacity_env):  # noqa: F811
    # From the Launchpad a person can type `.inf`: that is no cap at all.
    request = plan_auto_extension(DUE, now=NOW)
    config = request.run_config["ops"]["extend_capacity_block_op"]["config"]
    run_config = {"ops": {"extend_capacity_block_op": {"config": {**config, "max_price": float("inf")}}}}
    result, stubbed, observed = run_job(defs, run_config, [], monkeypatch)
    assert not result.success
    failure = result.failure_data_for_node("extend_capacity_block_op")
    assert "max_price" in str(failure.error) and "finite number" in str(failure.error)
    assert stubbed.methods_called() == [] and observed == []  # refused before any AWS call


# ------------------------------------------------------------------------------------------ the CLI


def test_extend_refuses_a_block_owned_by_another_account(cli):
    shared = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5), account_id=OTHER_ID)
    ext = extension_offering("cbeo-0123456789abcdef0", shared, 24)
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--account", "main",
                  *REGION, "--yes"],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [shared]}),
                  call("ec2", "describe_capacity_block_extension_offerings",
                       {"CapacityBlockExtensionOfferings": [ext]}),
                  identity(MAIN_ID),
                  call("ec2", "purchase_capacity_block_extension", extension_purchase(ext, "cr-0aa11bb22cc33dd44"))])
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == (
        f"error: cr-0aa11bb22cc33dd44 belongs to account {OTHER_ID}, not main-account ({MAIN_ID}); extend it in "
        "its owner's account; nothing bought")
    assert result.calls == ["describe_capacity_reservations"]


@pytest.mark.parametrize("command", [
    ["training-plans", "search", "-t", "ml.p5.48xlarge", "-n", "4", "--hours", "24", *REGION],
    ["training-plans", "purchase", "tpo-1", "--name", "plan", "-t", "ml.p5.48xlarge", "-n", "4", *REGION, "--yes"],
])
def test_an_unknown_training_plan_target_is_a_usage_error_before_any_call(cli, command):
    result = cli([*command, "--target", "notebook"], [])
    assert result.exit_code == 2, result.stderr
    assert "unknown target resource 'notebook'; use one of hyperpod-cluster, training-job, endpoint" in result.stderr
    assert result.calls == []


@pytest.mark.parametrize("value", ["inf", "1e999"])  # click already refuses nan (below 0)
@pytest.mark.parametrize("command", [
    ["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "-t", "p5.48xlarge", "-n", "8", "--hours", "168",
     "--account", "main", *REGION, "--yes"],
    ["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", *REGION, "--yes"],
    ["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", "--hours", "24", *REGION],
    ["training-plans", "purchase", "tpo-1", "--name", "plan", "-t", "ml.p5.48xlarge", "-n", "4", "--account", "main",
     *REGION, "--yes"],
])
def test_a_max_price_that_is_not_a_number_is_a_usage_error(cli, command, value):
    result = cli([*command, "--max-price", value], [])
    assert result.exit_code == 2, result.stderr
    assert "--max-price inf: not a price" in one_line_error(result.stderr)
    assert result.calls == []


@pytest.mark.parametrize("lead", ["48", "inf"])
def test_auto_extend_refuses_a_lead_time_longer_than_the_extension(cli, lead):
    result = cli(["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--lead-hours", lead,
                  "--max-price", "7000", *REGION], [])
    assert result.exit_code == 2, result.stderr
    assert "must not exceed --hours 24" in one_line_error(result.stderr)
    assert result.calls == []


# ------------------------------------------------------------------------------ plan_auto_extension


def test_a_lead_time_longer_than_the_extension_leaves_auto_extension_off():
    with pytest.raises(ValidationError, match="must not exceed hours"):
        AutoExtendSettings(enabled=True, hours=24, max_price=Decimal("7000"), lead_hours=30)
    for lead in ("30", "inf", "nan"):
        item = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=3),
                           tags={**ON, "ml-clusters:auto-extend-lead-hours": lead})
        assert plan_auto_extension(item, now=NOW) is None, lead
    # within the extension it is on
    item = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=20),
                       tags={**ON, "ml-clusters:auto-extend-lead-hours": "24"})
    assert plan_auto_extension(item, now=NOW) is not None


def test_only_active_blocks_are_extended_automatically():
    # A 1-day block that has not started yet ends in 20 h: inside a 24 h lead time, but not running.
    item = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", state="scheduled", start=at(hours=-4), end=at(hours=20),
                       tags={**ON, "ml-clusters:auto-extend-lead-hours": "24"})
    assert plan_auto_extension(item, now=NOW) is None


# ----------------------------------------------------------------------------------- outcome unknown


def test_a_connection_closed_during_a_purchase_may_have_gone_through():
    exc = ConnectionClosedError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")
    text = str(explain(exc, action="purchase_capacity_block", region="us-east-1", buying=True))
    assert "outcome unknown: the purchase MAY have gone through; check `list` before trying again" in text
    assert "nothing bought" not in text


# ------------------------------------------------------------------- a prompt left open while prices move


@pytest.fixture
def slow_person(monkeypatch):
    """A person at a terminal who answers the prompt after the offering lookup has gone stale."""
    from ml_clusters.capacity import cli_blocks, cli_plans, guard

    monkeypatch.setattr(guard, "STALE_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(cli_blocks, "interactive", lambda: True)
    monkeypatch.setattr(cli_plans, "interactive", lambda: True)


def test_a_block_whose_fee_moved_while_the_prompt_was_open_is_not_bought(cli, slow_person):
    from .responses import offerings_page
    from .test_blocks_cli import OFFER_A, OFFER_D, SEARCH, SEARCH_PARAMS, observations, CLUSTER_KEY, \
        purchase_calls, search_call

    assert cli(SEARCH, [search_call()]).exit_code == 0
    dearer = call("ec2", "describe_capacity_block_offerings",
                  offerings_page({**OFFER_A, "UpfrontFee": "47000.00"}, OFFER_D), expected=SEARCH_PARAMS)
    result = cli(["capacity-blocks", "purchase", OFFER_A["CapacityBlockOfferingId"], "--cluster",
                  "main-account/us-east-1/parallelcluster"], [search_call(), dearer, *purchase_calls()],
                 input="purchase\n")
    assert result.exit_code == 1, result.stderr
    assert one_line_error(result.stderr) == (
        f"error: the upfront fee of {OFFER_A['CapacityBlockOfferingId']} changed from 42,287.62 USD to 47,000.00 USD "
        "while the confirmation was open; nothing bought — run the command again")
    assert result.calls == ["describe_capacity_block_offerings", "describe_capacity_block_offerings"]
    assert observations(CLUSTER_KEY) == []


def test_a_block_still_at_the_confirmed_fee_is_bought_after_a_slow_answer(cli, slow_person):
    from .test_blocks_cli import OFFER_A, SEARCH, purchase_calls, search_call

    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["capacity-blocks", "purchase", OFFER_A["CapacityBlockOfferingId"], "--cluster",
                  "main-account/us-east-1/parallelcluster"], [search_call(), search_call(), *purchase_calls()],
                 input="purchase\n")
    assert result.exit_code == 0, result.stderr
    assert result.calls[-2:] == ["get_caller_identity", "purchase_capacity_block"]
    assert result.calls.count("describe_capacity_block_offerings") == 2


def test_an_extension_whose_fee_moved_while_the_prompt_was_open_is_not_bought(cli, slow_person):
    res = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5))
    ext = extension_offering("cbeo-0123456789abcdef0", res, 24)
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", *REGION],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res]}),
                  call("ec2", "describe_capacity_block_extension_offerings",
                       {"CapacityBlockExtensionOfferings": [ext]}),
                  call("ec2", "describe_capacity_block_extension_offerings",
                       {"CapacityBlockExtensionOfferings": [{**ext, "UpfrontFee": "6500.00"}]}),
                  call("ec2", "purchase_capacity_block_extension", extension_purchase(ext, "cr-0aa11bb22cc33dd44"))],
                 input="extend\n")
    assert result.exit_code == 1, result.stderr
    assert "changed from 6,041.09 USD to 6,500.00 USD while the confirmation was open; nothing bought" in \
        one_line_error(result.stderr)
    assert "purchase_capacity_block_extension" not in result.calls


def test_a_training_plan_that_was_taken_while_the_prompt_was_open_is_not_bought(cli, slow_person):
    from .test_plans_cli import SEARCH, SEARCH_PARAMS, SPLIT, WHOLE, buy_calls, search_call

    assert cli(SEARCH, [search_call()]).exit_code == 0
    gone = call("sagemaker", "search_training_plan_offerings", {"TrainingPlanOfferings": [SPLIT]},
                expected=SEARCH_PARAMS)
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "llm-pretrain-march",
                  "--cluster", "secondary-account/us-west-2/hyperpod-slurm"], [search_call(), gone, *buy_calls()],
                 input="purchase\n")
    assert result.exit_code == 1, result.stderr
    assert "is no longer offered" in one_line_error(result.stderr)
    assert "create_training_plan" not in result.calls
