"""The checks that stand between a command line and money: the paying account, usable capacity, bad input.

Every refusal here is one line on stderr and nothing is bought; usage errors exit 2 before any AWS call.
"""

from __future__ import annotations

import dagster as dg
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from ml_clusters.capacity.errors import explain

from .responses import MAIN_ID, at, block_offering, call, extension_offering, extension_purchase, identity, \
    offerings_page, reservation
from .test_blocks_cli import CLUSTER_KEY, OFFER_D, SEARCH, observations, purchase_calls, search_call

PURCHASE = ["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
            "main-account/us-east-1/parallelcluster", "--yes"]
BLOCK_UNIT_KEY = dg.AssetKey(["main-account", "us-east-1", "capacity-block"])


def one_line_error(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


@pytest.fixture
def searched(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0


# ------------------------------------------------------------------------------- 1. the paying account


def test_purchase_refuses_when_the_credentials_belong_to_another_account(cli, searched):
    buy = [c for c in purchase_calls() if c["method"] == "purchase_capacity_block"]
    result = cli(PURCHASE, [search_call(), identity("123456789012"), *buy])
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == (
        "error: purchase: refusing to buy in main-account (483026362307): the credentials in use belong to account "
        "123456789012 (ambient credentials are used as is because ML_CLUSTERS_NO_ASSUME_ROLE is set); nothing bought")
    assert "purchase_capacity_block" not in result.calls
    assert observations(CLUSTER_KEY) == []


def test_extend_refuses_when_the_credentials_belong_to_another_account(cli):
    res = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5))
    ext = extension_offering("cbeo-0123456789abcdef0", res, 24)
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--account", "main",
                  "--region", "us-east-1", "--yes"],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res]}),
                  call("ec2", "describe_capacity_block_extension_offerings",
                       {"CapacityBlockExtensionOfferings": [ext]}),
                  identity("159553542841"),
                  call("ec2", "purchase_capacity_block_extension", extension_purchase(ext, "cr-0aa11bb22cc33dd44"))])
    assert result.exit_code == 1
    assert "the credentials in use belong to account 159553542841" in one_line_error(result.stderr)
    assert "purchase_capacity_block_extension" not in result.calls


def test_an_unanswered_identity_check_buys_nothing(cli, searched):
    result = cli(PURCHASE, [search_call(), call("sts", "get_caller_identity", error=("ExpiredToken", "expired")),
                            *[c for c in purchase_calls() if c["service"] == "ec2"]])
    assert result.exit_code == 1
    line = one_line_error(result.stderr)
    assert "cannot confirm which account the credentials belong to" in line and line.endswith("nothing bought")
    assert "purchase_capacity_block" not in result.calls


# ------------------------------------------------------------------- 2. a failed buy has an unknown outcome


@pytest.mark.parametrize("exc", [
    ClientError({"Error": {"Code": "InternalError", "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "PurchaseCapacityBlock"),
    ResponseParserError("Unable to parse response"),
])
def test_a_failed_purchase_may_have_gone_through_even_against_an_endpoint(exc, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    text = str(explain(exc, action="purchase_capacity_block", region="us-east-1", buying=True))
    assert "outcome unknown: the purchase MAY have gone through; check `list` before trying again" in text
    assert "nothing bought" not in text
    # A read against the emulator may still blame the missing API, and buys nothing either way.
    read = str(explain(exc, action="describe_capacity_block_offerings"))
    assert "does not implement the Capacity Block / Training Plan APIs" in read


# -------------------------------------------------------------------------- 3. usage errors: one line, exit 2


REGION = ["--region", "us-east-1"]


@pytest.mark.parametrize("args, expected", [
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "-5", *REGION],
     "Invalid value for '--hours'"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "0", "--hours", "24", *REGION],
     "Invalid value for '--count' / '-n'"),
    (["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--max-price", "abc", "--yes"],
     "Invalid value for '--max-price'"),
    (["capacity-blocks", "list", "--output", "yaml", *REGION], "Invalid value for '--output' / '-o'"),
    (["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", *REGION], "Missing option '--hours'"),
    (["capacity-blocks", "lsit"], "No such command 'lsit'"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "30", *REGION],
     "--hours 30 is not a Capacity Block duration"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "480", *REGION],
     "--hours 480 is not a Capacity Block duration"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "4392", *REGION],
     "--hours 4392 is not a Capacity Block duration"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "24", "--start", "+9d", "--end",
      "+3d", *REGION], "--end +3d is not after --start +9d"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "24", "--start", "2026-01-01",
      *REGION], "--start 2026-01-01 is in the past"),
    (["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "24", "--start", "soon", *REGION],
     "--start: cannot read 'soon'"),
    (["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "-t", "p5.48xlarge", "-n", "1", "--hours", "36",
      "--account", "main", *REGION, "--yes"], "--hours 36 is not a Capacity Block duration"),
    (["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", *REGION], "auto-extension needs a price cap"),
    (["training-plans", "search", "-t", "ml.p5.48xlarge", "-n", "1", "--start-after", "+5d", "--end-before",
      "+2d", *REGION], "--end-before +2d is not after --start-after +5d"),
    (["training-plans", "list", "--output", "xml", *REGION], "Invalid value for '--output' / '-o'"),
])
def test_usage_errors_are_one_line_exit_2_and_ask_nothing_of_aws(cli, args, expected):
    result = cli(args, [])
    assert result.exit_code == 2, result.stderr
    assert expected in one_line_error(result.stderr)
    assert "Usage:" not in result.stdout + result.stderr and "╭" not in result.stderr
    assert result.calls == []


def test_whole_weeks_up_to_26_weeks_are_valid_durations(cli):
    page = offerings_page(block_offering("cbo-0e1b2c3d4e5f60718", "us-east-1a", start_day=5, hours=504))
    result = cli(["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "8", "--hours", "504", *REGION],
                 [call("ec2", "describe_capacity_block_offerings", page)])
    assert result.exit_code == 0, result.stderr


def test_usage_errors_from_the_real_executable_are_one_line(console_script):
    result = console_script(["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "1", "--hours", "-5",
                             *REGION], [], tty=False)
    assert result.exit_code == 2
    assert "Invalid value for '--hours'" in one_line_error(result.stderr)
    assert result.stdout == "" and result.calls == []


@pytest.mark.parametrize("cluster, expected", [
    ("main-account/us-east-1/no-such-cluster", "no unit 'main-account/us-east-1/no-such-cluster'"),
    ("main-account/us-east-1/networking", "is a networking unit, not a cluster"),
])
def test_an_unknown_cluster_is_refused_before_the_offering_lookup(cli, searched, cluster, expected):
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster", cluster, "--yes"],
                 [search_call()])
    assert result.exit_code == 1
    assert expected in one_line_error(result.stderr)
    assert result.calls == []


# -------------------------------------------------- 4. extensions are recorded on the cluster using the block


def test_extension_of_a_block_tagged_with_the_capacity_block_unit_is_recorded_on_its_cluster(cli):
    res = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5),
                      tags={"ml-clusters:unit": "main-account/us-east-1/capacity-block"})
    ext = extension_offering("cbeo-0123456789abcdef0", res, 24)
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--account", "main",
                  "--region", "us-east-1", "--yes"],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res]}),
                  call("ec2", "describe_capacity_block_extension_offerings",
                       {"CapacityBlockExtensionOfferings": [ext]}),
                  identity(MAIN_ID),
                  call("ec2", "purchase_capacity_block_extension", extension_purchase(ext, "cr-0aa11bb22cc33dd44"))])
    assert result.exit_code == 0, result.stderr
    assert "recorded as an observation on main-account/us-east-1/parallelcluster" in result.stdout
    [obs] = observations(CLUSTER_KEY)
    assert obs.metadata["capacity/event"].value == "capacity block extended"
    assert len(observations(BLOCK_UNIT_KEY)) == 1  # the block's own history keeps it too


# ----------------------------------------------------------------- 5. --yes alone never buys unusable capacity


def test_yes_alone_refuses_a_block_no_cluster_can_use(cli, searched):
    result = cli(["capacity-blocks", "purchase", "cbo-0d9e8f7a6b5c40312", "--yes"], [search_call()])
    assert result.exit_code == 1
    assert one_line_error(result.stderr) == (
        "error: refused: no cluster of the estate is known to have subnets in its AZ; pass --allow-unusable with "
        "--yes to buy it anyway; nothing bought")
    assert "WARNING" in result.stdout
    assert "purchase_capacity_block" not in result.calls


def test_yes_alone_refuses_a_block_the_named_cluster_cannot_use(cli):
    offer_b = block_offering("cbo-0b1b2c3d4e5f60718", "us-east-1b", start_day=5)
    page = offerings_page(offer_b)
    assert cli(SEARCH, [call("ec2", "describe_capacity_block_offerings", page)]).exit_code == 0
    result = cli(["capacity-blocks", "purchase", "cbo-0b1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--yes"],
                 [call("ec2", "describe_capacity_block_offerings", page)])
    assert result.exit_code == 1
    assert "refused: main-account/us-east-1/parallelcluster is not known to have subnets in its AZ" in \
        one_line_error(result.stderr)
    assert "purchase_capacity_block" not in result.calls


def test_allow_unusable_with_yes_buys_it_after_the_warning(cli, searched):
    result = cli(["capacity-blocks", "purchase", "cbo-0d9e8f7a6b5c40312", "--yes", "--allow-unusable"],
                 [search_call(), *purchase_calls(OFFER_D, cluster=None)])
    assert result.exit_code == 0, result.stderr
    assert "WARNING" in result.stdout and "Bought cr-0f1e2d3c4b5a69788" in result.stdout
    assert result.calls[-1] == "purchase_capacity_block"
