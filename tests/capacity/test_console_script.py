"""The real `ml-clusters` executable in a subprocess, with the confirmation typed on a terminal.

stdin is a pseudo-terminal, so the command sees a person at a terminal; the test reads the screen until
the confirmation question appears, checks that nothing has been bought yet, then types the answer.
Stubbed AWS clients come in through tests/capacity/stubsite/sitecustomize.py (PYTHONPATH, test-only).
"""

from __future__ import annotations

import dagster as dg
import pytest

from .responses import at, call, extension_offering, extension_purchase, reservation
from .test_blocks_cli import CLUSTER_KEY, OFFER_A, SEARCH, observations, purchase_calls, search_call
from .test_plans_cli import SEARCH as PLAN_SEARCH
from .test_plans_cli import SPLIT, buy_calls
from .test_plans_cli import search_call as plan_search_call

pytestmark = pytest.mark.slow

PURCHASE = ["capacity-blocks", "purchase", OFFER_A["CapacityBlockOfferingId"], "--cluster",
            "main-account/us-east-1/parallelcluster"]


@pytest.fixture
def searched(console_script):
    result = console_script(SEARCH, [search_call()], tty=False)
    assert result.exit_code == 0, result.stderr
    assert OFFER_A["CapacityBlockOfferingId"] in result.stdout


def test_typing_purchase_at_the_prompt_buys_the_block(console_script, searched):
    result = console_script(PURCHASE, [search_call(), *purchase_calls()], answer="purchase")
    assert result.exit_code == 0, result.stderr
    assert result.calls_before_answer == ["describe_capacity_block_offerings"]  # shown, not yet bought
    screen = result.stdout
    assert screen.index("42,287.62 USD") < screen.index("Type purchase to confirm")
    assert "Bought cr-0f1e2d3c4b5a69788" in screen
    assert result.calls == ["describe_capacity_block_offerings", "get_caller_identity", "purchase_capacity_block"]
    assert len(observations(CLUSTER_KEY)) == 1


def test_any_other_answer_cancels_and_buys_nothing(console_script, searched):
    result = console_script(PURCHASE, [search_call()], answer="yes")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: cancelled at the confirmation prompt; nothing bought"
    assert result.calls == ["describe_capacity_block_offerings"]
    assert observations(CLUSTER_KEY) == []


def test_end_of_input_at_the_prompt_buys_nothing(console_script, searched):
    result = console_script(PURCHASE, [search_call()], answer=None)
    assert result.exit_code == 1
    assert "cancelled at the confirmation prompt; nothing bought" in result.stderr
    assert "purchase_capacity_block" not in result.calls


def test_piped_stdin_without_yes_is_refused(console_script, searched):
    result = console_script(PURCHASE, [search_call()], tty=False, stdin_text="purchase\n")
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: refusing to buy without a terminal to confirm on; pass --yes to buy "
                                     "non-interactively (and --max-price to cap the fee); nothing bought")
    assert "purchase_capacity_block" not in result.calls
    assert "Traceback" not in result.stderr


def test_max_price_refusal_comes_before_any_prompt(console_script, searched):
    result = console_script([*PURCHASE, "--max-price", "30000"], [search_call()], answer="purchase")
    assert result.exit_code == 1
    assert "to confirm" not in result.stdout
    assert "refused: upfront fee 42,287.62 USD is above --max-price 30,000.00 USD; nothing bought" in result.stderr
    assert "purchase_capacity_block" not in result.calls


def test_extend_prompt_wants_the_word_extend(console_script):
    res = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5))
    ext = extension_offering("cbeo-0123456789abcdef0", res, 48, fee="12082.18")
    calls = [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res]}),
             call("ec2", "describe_capacity_block_extension_offerings", {"CapacityBlockExtensionOfferings": [ext]}),
             call("ec2", "purchase_capacity_block_extension", extension_purchase(ext, "cr-0aa11bb22cc33dd44"))]
    declined = console_script(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "48", "--region",
                               "us-east-1", "--cluster", "main-account/us-east-1/parallelcluster"],
                              calls[:2], answer="purchase")
    assert declined.exit_code == 1 and "nothing bought" in declined.stderr
    accepted = console_script(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "48", "--region",
                               "us-east-1", "--cluster", "main-account/us-east-1/parallelcluster"],
                              calls, answer="extend")
    assert accepted.exit_code == 0, accepted.stderr
    assert accepted.calls_before_answer == ["describe_capacity_reservations",
                                            "describe_capacity_block_extension_offerings"]
    assert "Type extend to confirm" in accepted.stdout
    assert "Extended cr-0aa11bb22cc33dd44 by 48 h" in accepted.stdout
    [obs] = observations(CLUSTER_KEY)
    assert obs.metadata["capacity/event"].value == "capacity block extended"


def test_training_plan_split_offering_bought_at_the_prompt(console_script):
    searched = console_script(PLAN_SEARCH, [plan_search_call()], tty=False)
    assert searched.exit_code == 0, searched.stderr
    result = console_script(["training-plans", "purchase", SPLIT["TrainingPlanOfferingId"], "--name", "split-plan"],
                            [plan_search_call(), *buy_calls(SPLIT, name="split-plan", cluster=None)],
                            answer="purchase")
    assert result.exit_code == 0, result.stderr
    assert result.calls_before_answer == ["search_training_plan_offerings"]
    screen = result.stdout
    assert "Block 2/2" in screen and "us-west-2b" in screen
    assert screen.index("WARNING") < screen.index("to confirm")  # the AZ warning is seen before buying
    assert "Bought training plan split-plan" in screen
    assert observations(dg.AssetKey(["secondary-account", "us-west-2", "hyperpod-slurm"])) == []
