"""`ml-clusters capacity-blocks ...` against Stubber-backed EC2 (the emulator lacks these APIs).

The estate is the repository's terraform/live: in main-account/us-east-1, eks-training spans us-east-1a/b/c
and the ParallelCluster compute queue is pinned to us-east-1a.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import dagster as dg
import pytest

from .responses import (
    MAIN_ID,
    at,
    block_offering,
    call,
    capacity_blocks_page,
    extension_offering,
    extension_purchase,
    identity,
    offerings_page,
    purchase_response,
    reservation,
)

SEARCH = ["capacity-blocks", "search", "--instance-type", "p5.48xlarge", "--count", "8", "--hours", "168",
          "--start", "2026-03-05", "--end", "2026-03-31", "--account", "main", "--region", "us-east-1"]
# Exact dates, not <ANY>: `purchase` re-runs the search from the remembered query, so a window lost or shifted
# on the way through the offerings cache would otherwise go unnoticed.
SEARCH_PARAMS = {"InstanceType": "p5.48xlarge", "InstanceCount": 8, "CapacityDurationHours": 168,
                 "StartDateRange": datetime(2026, 3, 5, tzinfo=timezone.utc),
                 "EndDateRange": datetime(2026, 3, 31, tzinfo=timezone.utc)}
OFFER_A = block_offering("cbo-0a1b2c3d4e5f60718", "us-east-1a", start_day=5)
OFFER_D = block_offering("cbo-0d9e8f7a6b5c40312", "us-east-1d", start_day=9, fee="40125.50")
PAGE = offerings_page(OFFER_A, OFFER_D)
CLUSTER_KEY = dg.AssetKey(["main-account", "us-east-1", "parallelcluster"])


def search_call():
    return call("ec2", "describe_capacity_block_offerings", PAGE, expected=SEARCH_PARAMS)


def flat(text: str) -> str:
    """Output as one line of words: rich panels and wrapping don't matter to the assertions."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def observations(key: dg.AssetKey) -> list:
    with dg.DagsterInstance.get() as instance:
        return [r.asset_observation for r in instance.fetch_observations(key, limit=10).records]


# ------------------------------------------------------------------------------------------------ search


def test_search_shows_offerings_fees_and_which_clusters_can_use_each_az(cli):
    result = cli(SEARCH, [search_call()])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "cbo-0a1b2c3d4e5f60718" in out and "cbo-0d9e8f7a6b5c40312" in out
    assert "42,287.62 USD" in out and "40,125.50 USD" in out
    assert "2026-03-07 11:30" in out and "2026-03-14 11:30" in out  # start and end of the first offering
    row_a = next(line for line in out.splitlines() if "cbo-0a1b2c3d4e5f60718" in line)
    row_d = next(line for line in out.splitlines() if "cbo-0d9e8f7a6b5c40312" in line)
    assert "eks-training, parallelcluster" in row_a
    assert row_d.rstrip().endswith("none")
    assert result.calls == ["describe_capacity_block_offerings"]


def test_search_json_is_machine_readable(cli):
    result = cli([*SEARCH, "--output", "json"], [search_call()])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["account"] == "main-account" and doc["region"] == "us-east-1"
    by_id = {o["offering_id"]: o for o in doc["offerings"]}
    assert by_id["cbo-0a1b2c3d4e5f60718"]["upfront_fee"] == "42287.62"
    assert by_id["cbo-0a1b2c3d4e5f60718"]["start"] == "2026-03-07T11:30:00Z"
    # The query echoed back uses the same date style as the records (one parser reads both).
    assert doc["query"]["start_from"] == "2026-03-05T00:00:00Z" and doc["query"]["end_by"].endswith("Z")
    assert by_id["cbo-0a1b2c3d4e5f60718"]["usable_by"] == ["main-account/us-east-1/eks-training",
                                                           "main-account/us-east-1/parallelcluster"]
    assert by_id["cbo-0d9e8f7a6b5c40312"]["usable_by"] == []


def test_search_without_account_uses_ambient_credentials_and_skips_the_fit_column(cli):
    result = cli(["capacity-blocks", "search", "-t", "p5.48xlarge", "-n", "8", "--hours", "168",
                  "--region", "us-east-1"],
                 [call("ec2", "describe_capacity_block_offerings", PAGE,
                       expected={"InstanceType": "p5.48xlarge", "InstanceCount": 8, "CapacityDurationHours": 168})])
    assert result.exit_code == 0, result.stderr
    assert "Usable by" not in result.stdout
    assert "ambient credentials / us-east-1" in result.stdout
    assert "Pass --account" in result.stdout


@pytest.mark.parametrize("error, expected", [
    (("UnauthorizedOperation", "You are not authorized to perform this operation."), "access denied"),
    (("InvalidAction", "The action DescribeCapacityBlockOfferings is not valid for this web service."),
     "describe_capacity_block_offerings is not available in us-east-1"),
])
def test_search_errors_are_one_line(cli, error, expected):
    result = cli(SEARCH, [call("ec2", "describe_capacity_block_offerings", error=error)])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout


def test_search_with_no_offerings_fails_with_one_line(cli):
    result = cli(SEARCH, [call("ec2", "describe_capacity_block_offerings", offerings_page(),
                               expected=SEARCH_PARAMS)])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: no Capacity Block offerings for 8 x p5.48xlarge for 168 h between "
                                     "2026-03-05 00:00 UTC and 2026-03-31 00:00 UTC in main-account / us-east-1; "
                                     "try another count, duration or date window")


def test_search_refuses_sagemaker_instance_types(cli):
    result = cli([*SEARCH[:2], "-t", "ml.p5.48xlarge", "-n", "8", "--hours", "168", "--region", "us-east-1"], [])
    assert result.exit_code == 1
    assert "use `training-plans` for ml.* types" in result.stderr


def test_unknown_account_names_the_known_ones(cli):
    result = cli([*SEARCH[:-4], "--account", "staging", "--region", "us-east-1"], [])
    assert result.exit_code == 1
    assert "unknown account 'staging'" in result.stderr
    assert "main (main-account, 483026362307)" in result.stderr


# ---------------------------------------------------------------------------------------------- purchase


def purchase_calls(offer=OFFER_A, *, cluster="main-account/us-east-1/parallelcluster", dry_run=False, error=None):
    tags = {"ml-clusters:purchased-by": "<ANY>", "ml-clusters:account": "main-account"}
    if cluster:
        tags["ml-clusters:unit"] = cluster
    expected = {"CapacityBlockOfferingId": offer["CapacityBlockOfferingId"], "InstancePlatform": "Linux/UNIX",
                "TagSpecifications": [{"ResourceType": "capacity-reservation",
                                       "Tags": [{"Key": "ml-clusters:purchased-by", "Value": "<ANY>"},
                                                *([{"Key": "ml-clusters:unit", "Value": cluster}] if cluster
                                                  else []),
                                                {"Key": "ml-clusters:account", "Value": "main-account"}]}]}
    if dry_run:
        expected["DryRun"] = True
        return [identity(), call("ec2", "purchase_capacity_block", expected=expected,
                     error=("DryRunOperation", "Request would have succeeded, but DryRun flag is set."), status=412)]
    if error:
        return [identity(), call("ec2", "purchase_capacity_block", expected=expected, error=error)]
    return [identity(), call("ec2", "purchase_capacity_block",
                 purchase_response(offer, "cr-0f1e2d3c4b5a69788", "cb-0123456789abcdef0",
                                   {"ml-clusters:unit": cluster or "", "ml-clusters:account": "main-account"}),
                 expected=expected)]


def searched(cli):
    """Run the search first: purchase re-checks what it found."""
    assert cli(SEARCH, [search_call()]).exit_code == 0


def test_purchase_with_yes_buys_tags_and_records_an_observation_on_the_cluster(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--max-price", "50000", "--yes"],
                 [search_call(), *purchase_calls()])
    assert result.exit_code == 0, result.stderr
    assert result.calls == ["describe_capacity_block_offerings", "get_caller_identity", "purchase_capacity_block"]
    out = result.stdout
    assert "42,287.62 USD" in out and "us-east-1a" in out
    assert "Bought cr-0f1e2d3c4b5a69788 (Capacity Block cb-0123456789abcdef0): payment-pending" in out
    assert "recorded as an observation on main-account/us-east-1/parallelcluster" in out
    [obs] = observations(CLUSTER_KEY)
    assert obs.metadata["capacity/event"].value == "capacity block purchased"
    assert obs.metadata["capacity/id"].value == "cr-0f1e2d3c4b5a69788"
    assert obs.metadata["capacity/upfront_fee"].value == 42287.62
    assert obs.metadata["capacity/availability_zone"].value == "us-east-1a"


def test_purchase_records_on_the_only_cluster_that_fits_when_none_is_named(cli):
    offer_b = block_offering("cbo-0b1b2c3d4e5f60718", "us-east-1b", start_day=5)
    page = offerings_page(offer_b)
    assert cli(SEARCH, [call("ec2", "describe_capacity_block_offerings", page)]).exit_code == 0
    result = cli(["capacity-blocks", "purchase", "cbo-0b1b2c3d4e5f60718", "--yes"],
                 [call("ec2", "describe_capacity_block_offerings", page),
                  *purchase_calls(offer_b, cluster="main-account/us-east-1/eks-training")])
    assert result.exit_code == 0, result.stderr
    assert "recorded as an observation on main-account/us-east-1/eks-training" in result.stdout
    assert len(observations(dg.AssetKey(["main-account", "us-east-1", "eks-training"]))) == 1


def test_purchase_json_output(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--yes", "-o", "json"],
                 [search_call(), *purchase_calls()])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["purchased"]["reservation_id"] == "cr-0f1e2d3c4b5a69788"
    assert doc["purchased"]["tags"]["ml-clusters:unit"] == "main-account/us-east-1/parallelcluster"
    assert doc["record"].startswith("recorded as an observation")
    assert "Capacity Block to buy" in result.stderr  # the summary is for people: stderr


def test_purchase_above_max_price_is_refused_and_nothing_is_bought(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--max-price", "40000", "--yes"],
                 [search_call()])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: refused: upfront fee 42,287.62 USD is above --max-price 40,000.00 USD; "
                                     "nothing bought")
    assert "purchase_capacity_block" not in result.calls
    assert observations(CLUSTER_KEY) == []


def test_purchase_without_a_terminal_and_without_yes_is_refused(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718"], [search_call()], input="purchase\n")
    assert result.exit_code == 1
    assert "refusing to buy without a terminal to confirm on; pass --yes" in result.stderr
    assert "purchase_capacity_block" not in result.calls


def test_purchase_dry_run_uses_ec2_dryrun_and_buys_nothing(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--dry-run"],
                 [search_call(), *purchase_calls(dry_run=True)])
    assert result.exit_code == 0, result.stderr
    assert "Dry run: EC2 says the purchase would be allowed" in result.stdout and "nothing bought" in result.stdout
    assert result.pending == 0  # the DryRun call was made, with DryRun=True (checked by the Stubber)
    assert observations(CLUSTER_KEY) == []


def test_purchase_of_an_offering_that_expired_since_the_search_buys_nothing(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--yes"],
                 [call("ec2", "describe_capacity_block_offerings", offerings_page(OFFER_D))])
    assert result.exit_code == 1
    assert ("offering cbo-0a1b2c3d4e5f60718 is no longer offered for 8 x p5.48xlarge for 168 h" in result.stderr)
    assert "nothing bought" in result.stderr
    assert result.calls == ["describe_capacity_block_offerings"]


@pytest.mark.parametrize("error, expected", [
    (("InsufficientInstanceCapacity", "There is not enough capacity to fulfill your Capacity Block request."),
     "insufficient capacity"),
    (("InvalidCapacityBlockOfferingId.NotFound", "The capacity block offering ID 'cbo-0a1b2c3d4e5f60718' does not "
                                                 "exist"),
     "offering cbo-0a1b2c3d4e5f60718 is no longer available (it expired or was taken since the search)"),
    (("UnauthorizedOperation", "You are not authorized to perform: ec2:PurchaseCapacityBlock"), "access denied"),
])
def test_purchase_errors_from_aws_are_one_line_and_say_nothing_was_bought(cli, error, expected):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--yes"],
                 [search_call(), *purchase_calls(error=error)])
    assert result.exit_code == 1
    assert expected in result.stderr and "nothing bought" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert observations(CLUSTER_KEY) == []


def test_purchase_of_an_unknown_offering_asks_for_a_search_first(cli):
    result = cli(["capacity-blocks", "purchase", "cbo-0123", "--account", "main", "--region", "us-east-1", "--yes"],
                 [])
    assert result.exit_code == 1
    assert "was not found by a recent `capacity-blocks search` here" in result.stderr


def test_purchase_with_explicit_search_parameters_needs_no_prior_search(cli):
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "-t", "p5.48xlarge", "-n", "8",
                  "--hours", "168", "--start", "2026-03-05", "--end", "2026-03-31", "--account", "main-account",
                  "--region", "us-east-1", "--cluster", "main-account/us-east-1/parallelcluster", "--yes"],
                 [search_call(), *purchase_calls()])
    assert result.exit_code == 0, result.stderr
    assert result.calls == ["describe_capacity_block_offerings", "get_caller_identity", "purchase_capacity_block"]


def test_purchase_needs_an_account(cli):
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "-t", "p5.48xlarge", "-n", "8",
                  "--hours", "168", "--region", "us-east-1", "--yes"], [])
    assert result.exit_code == 1
    assert "buying needs --account" in result.stderr


def test_purchase_in_an_az_no_cluster_uses_warns_loudly(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0d9e8f7a6b5c40312", "--dry-run"],
                 [search_call(), *purchase_calls(OFFER_D, cluster=None, dry_run=True)])
    assert result.exit_code == 0, result.stderr
    assert "WARNING" in result.stdout
    assert ("No cluster of the estate can use a Capacity Block in us-east-1d: none of the clusters in "
            "main-account/us-east-1 (eks-training, parallelcluster) has subnets in us-east-1d") in flat(result.stdout)


def test_purchase_for_a_named_cluster_in_the_wrong_az_warns(cli):
    offer_b = block_offering("cbo-0b1b2c3d4e5f60718", "us-east-1b", start_day=5)
    page = offerings_page(offer_b)
    assert cli(SEARCH, [call("ec2", "describe_capacity_block_offerings", page)]).exit_code == 0
    result = cli(["capacity-blocks", "purchase", "cbo-0b1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--dry-run"],
                 [call("ec2", "describe_capacity_block_offerings", page), *purchase_calls(offer_b, dry_run=True)])
    assert result.exit_code == 0, result.stderr
    assert ("main-account/us-east-1/parallelcluster cannot use a Capacity Block in us-east-1b: the cluster's "
            "subnets are in us-east-1a (input compute_availability_zone of main-account/us-east-1/parallelcluster)"
            ) in flat(result.stdout)


def test_purchase_in_another_region_than_the_search_is_refused(cli):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--region", "us-west-2", "--yes"], [])
    assert result.exit_code == 1
    assert "was found in us-east-1, not us-west-2" in result.stderr


def test_purchase_without_dagster_home_says_it_was_not_recorded(cli, monkeypatch):
    searched(cli)
    monkeypatch.delenv("DAGSTER_HOME")
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster",
                  "main-account/us-east-1/parallelcluster", "--yes"], [search_call(), *purchase_calls()])
    assert result.exit_code == 0, result.stderr
    assert "not recorded in Dagster: DAGSTER_HOME is not set" in result.stdout


# -------------------------------------------------------------------------------------------------- list


def test_list_shows_state_az_counts_dates_and_hours_left(cli):
    active = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", available=2, end=at(hours=30),
                         tags={"ml-clusters:unit": "main-account/us-east-1/parallelcluster"})
    scheduled = reservation("cr-0ee55ff66aa77bb88", "us-east-1b", state="scheduled", start=at(days=6),
                            end=at(days=13))
    result = cli(["capacity-blocks", "list", "--account", "main", "--region", "us-east-1"], [
        call("ec2", "describe_capacity_reservations", {"CapacityReservations": [scheduled, active]},
             expected={"Filters": [{"Name": "state", "Values": ["payment-pending", "scheduled", "active"]}]}),
        call("ec2", "describe_capacity_blocks", capacity_blocks_page(("cb-0a0a0a0a0a0a0a0a0", "cr-0aa11bb22cc33dd44")),
             expected={"Filters": [{"Name": "state", "Values": ["payment-pending", "scheduled", "active"]}]}),
    ])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    row_active = next(line for line in lines if "cr-0aa11bb22cc33dd44" in line).split()
    assert row_active == ["cr-0aa11bb22cc33dd44", "active", "us-east-1a", "p5.48xlarge", "2", "/", "8", "2026-02-28",
                          "12:00", "2026-03-03", "18:00", "30.0", "parallelcluster"]
    row_sched = next(line for line in lines if "cr-0ee55ff66aa77bb88" in line).split()
    assert row_sched[1] == "scheduled" and row_sched[-2:] == ["312.0", "-"]
    # earliest start first
    assert lines.index(next(line for line in lines if "cr-0aa11bb22cc33dd44" in line)) < lines.index(
        next(line for line in lines if "cr-0ee55ff66aa77bb88" in line))


def test_list_json_has_the_capacity_block_id(cli):
    active = reservation("cr-0aa11bb22cc33dd44", "us-east-1a")
    result = cli(["capacity-blocks", "list", "--region", "us-east-1", "-o", "json"], [
        call("ec2", "describe_capacity_reservations", {"CapacityReservations": [active]}),
        call("ec2", "describe_capacity_blocks", capacity_blocks_page(("cb-0a0a0a0a0a0a0a0a0", "cr-0aa11bb22cc33dd44")))])
    assert result.exit_code == 0, result.stderr
    [block] = json.loads(result.stdout)["capacity_blocks"]
    assert block["capacity_block_id"] == "cb-0a0a0a0a0a0a0a0a0" and block["state"] == "active"


def test_list_falls_back_when_describe_capacity_blocks_is_not_available(cli):
    active = reservation("cr-0aa11bb22cc33dd44", "us-east-1a")
    result = cli(["capacity-blocks", "list", "--region", "us-east-1", "-o", "json"], [
        call("ec2", "describe_capacity_reservations", {"CapacityReservations": [active]}),
        call("ec2", "describe_capacity_blocks", error=("InvalidAction", "not valid for this web service")),
    ])
    assert result.exit_code == 0, result.stderr
    [block] = json.loads(result.stdout)["capacity_blocks"]
    assert block["reservation_id"] == "cr-0aa11bb22cc33dd44" and block["capacity_block_id"] is None
    assert block["hours_left"] == 120.0


def test_list_without_describe_capacity_blocks_in_botocore_skips_it(cli, monkeypatch):
    from ml_clusters.capacity import blocks

    monkeypatch.setattr(blocks, "has_operation", lambda client, name: name != "describe_capacity_blocks")
    result = cli(["capacity-blocks", "list", "--region", "us-east-1"], [
        call("ec2", "describe_capacity_reservations", {"CapacityReservations": [
            reservation("cr-0aa11bb22cc33dd44", "us-east-1a")]})])
    assert result.exit_code == 0, result.stderr
    assert result.calls == ["describe_capacity_reservations"]
    assert "cr-0aa11bb22cc33dd44" in result.stdout


def test_list_ignores_ordinary_capacity_reservations(cli):
    odcr = reservation("cr-0odcr0000000000001", "us-east-1a")
    odcr["ReservationType"] = "default"
    result = cli(["capacity-blocks", "list", "--region", "us-east-1"], [
        call("ec2", "describe_capacity_reservations", {"CapacityReservations": [odcr]}),
        call("ec2", "describe_capacity_blocks", {"CapacityBlocks": []}),
    ])
    assert result.exit_code == 0
    assert "No Capacity Blocks in ambient credentials / us-east-1" in result.stdout


# ------------------------------------------------------------------------------------------------ extend

RES = reservation("cr-0aa11bb22cc33dd44", "us-east-1a", end=at(hours=5),
                  tags={"ml-clusters:unit": "main-account/us-east-1/parallelcluster"})
EXT = extension_offering("cbeo-0123456789abcdef0", RES, 24)


def extend_calls(*offerings, buy=True, account_id=None):
    """`account_id`: the account --account names (its identity is checked first); None when acting ambient."""
    calls = [*([identity(account_id)] if account_id else []), call("ec2", "describe_capacity_reservations", {"CapacityReservations": [RES]},
                  expected={"CapacityReservationIds": ["cr-0aa11bb22cc33dd44"]}),
             call("ec2", "describe_capacity_block_extension_offerings",
                  {"CapacityBlockExtensionOfferings": list(offerings or [EXT])},
                  expected={"CapacityBlockExtensionDurationHours": 24,
                            "CapacityReservationId": "cr-0aa11bb22cc33dd44"})]
    if buy:
        calls.append(call("ec2", "purchase_capacity_block_extension", extension_purchase(EXT, "cr-0aa11bb22cc33dd44"),
                          expected={"CapacityBlockExtensionOfferingId": "cbeo-0123456789abcdef0",
                                    "CapacityReservationId": "cr-0aa11bb22cc33dd44"}))
    return calls


def test_extend_with_yes_buys_the_extension_and_records_it_on_the_tagged_cluster(cli):
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--account", "main",
                  "--region", "us-east-1", "--max-price", "7000", "--yes"], extend_calls(account_id=MAIN_ID))
    assert result.exit_code == 0, result.stderr
    assert "6,041.09 USD" in result.stdout
    assert "Extended cr-0aa11bb22cc33dd44 by 24 h until 2026-03-03 17:00 UTC (payment-pending)" in flat(result.stdout)
    [obs] = observations(CLUSTER_KEY)
    assert obs.metadata["capacity/event"].value == "capacity block extended"
    assert obs.metadata["capacity/hours"].value == 24


def test_extend_above_max_price_is_refused(cli):
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--region", "us-east-1",
                  "--max-price", "5000", "--yes"], extend_calls(buy=False))
    assert result.exit_code == 1
    assert "refused: upfront fee 6,041.09 USD is above --max-price 5,000.00 USD; nothing bought" in result.stderr
    assert "purchase_capacity_block_extension" not in result.calls


def test_extend_with_several_offerings_asks_which_one(cli):
    other = extension_offering("cbeo-0fedcba9876543210", RES, 24, fee="6400.00")
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--region", "us-east-1",
                  "--yes"], extend_calls(EXT, other, buy=False))
    assert result.exit_code == 1
    assert ("2 extension offerings for cr-0aa11bb22cc33dd44 (+24 h): cbeo-0123456789abcdef0, cbeo-0fedcba9876543210; "
            "pick one with --offering-id; nothing bought") in result.stderr


def test_extend_with_no_offering_says_so(cli):
    calls = extend_calls(buy=False)
    calls[1]["response"] = {"CapacityBlockExtensionOfferings": []}
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--region", "us-east-1",
                  "--yes"], calls)
    assert result.exit_code == 1
    assert "no extension offering for cr-0aa11bb22cc33dd44 (+24 h)" in result.stderr


def test_extend_an_unknown_reservation(cli):
    result = cli(["capacity-blocks", "extend", "cr-0000000000000000", "--hours", "24", "--region", "us-east-1",
                  "--yes"],
                 [call("ec2", "describe_capacity_reservations",
                       error=("InvalidCapacityReservationId.NotFound",
                              "The capacity reservation ID 'cr-0000000000000000' does not exist"))])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: no Capacity Reservation cr-0000000000000000 in us-east-1")


def test_extend_dry_run(cli):
    calls = extend_calls(buy=False)
    calls.append(call("ec2", "purchase_capacity_block_extension",
                      expected={"CapacityBlockExtensionOfferingId": "cbeo-0123456789abcdef0",
                                "CapacityReservationId": "cr-0aa11bb22cc33dd44", "DryRun": True},
                      error=("DryRunOperation", "Request would have succeeded, but DryRun flag is set."), status=412))
    result = cli(["capacity-blocks", "extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--region", "us-east-1",
                  "--dry-run"], calls)
    assert result.exit_code == 0, result.stderr
    assert "nothing bought" in result.stdout and result.pending == 0
    assert observations(CLUSTER_KEY) == []


# ------------------------------------------------------------------------------------- auto-extend & fit


def test_auto_extend_needs_a_price_cap(cli):
    result = cli(["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", "--hours", "24", "--region",
                  "us-east-1"],
                 [])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: auto-extension needs a price cap: pass --max-price")
    assert len(result.stderr.splitlines()) == 1
    assert result.calls == []  # refused before anything is asked of AWS


def test_auto_extend_on_and_off_is_stored_as_tags(cli):
    on = cli(["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", "--hours", "48", "--max-price", "12000",
              "--region", "us-east-1"],
             [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [RES]}),
              call("ec2", "create_tags", {}, expected={
                  "Resources": ["cr-0aa11bb22cc33dd44"],
                  "Tags": [{"Key": "ml-clusters:auto-extend-hours", "Value": "48"},
                           {"Key": "ml-clusters:auto-extend-max-price", "Value": "12000"},
                           {"Key": "ml-clusters:auto-extend-lead-hours", "Value": "6"}]})])
    assert on.exit_code == 0, on.stderr
    assert "Auto-extension is on for cr-0aa11bb22cc33dd44: +48 h" in on.stdout
    off = cli(["capacity-blocks", "auto-extend", "cr-0aa11bb22cc33dd44", "--off", "--region", "us-east-1"],
              [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [RES]}),
               call("ec2", "delete_tags", {}, expected={
                   "Resources": ["cr-0aa11bb22cc33dd44"],
                   "Tags": [{"Key": "ml-clusters:auto-extend-hours"}, {"Key": "ml-clusters:auto-extend-max-price"},
                            {"Key": "ml-clusters:auto-extend-lead-hours"}]})])
    assert off.exit_code == 0, off.stderr
    assert "Auto-extension is off" in off.stdout


def test_fit_names_the_clusters_whose_subnets_include_the_blocks_az(cli):
    res_b = reservation("cr-0bb11bb22cc33dd44", "us-east-1b", account_id=MAIN_ID)
    result = cli(["capacity-blocks", "fit", "cr-0bb11bb22cc33dd44", "--region", "us-east-1", "-o", "json"],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res_b]})])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["usable_by"] == ["main-account/us-east-1/eks-training"]
    verdicts = {f["cluster"]: f["fits"] for f in doc["fits"]}
    assert verdicts == {"main-account/us-east-1/eks-training": True, "main-account/us-east-1/parallelcluster": False}


def test_fit_exits_3_when_no_cluster_can_use_the_block(cli):
    res_d = reservation("cr-0dd11bb22cc33dd44", "us-east-1d")
    result = cli(["capacity-blocks", "fit", "cr-0dd11bb22cc33dd44", "--region", "us-east-1"],
                 [call("ec2", "describe_capacity_reservations", {"CapacityReservations": [res_d]})])
    assert result.exit_code == 3
    assert "cr-0dd11bb22cc33dd44 (us-east-1d): no cluster of the estate can use it" in result.stdout


@pytest.mark.parametrize("cluster, expected", [
    ("main-account/us-east-1/networking", "main-account/us-east-1/networking is a networking unit, not a cluster "
                                          "that can use a Capacity Block (eks-cluster, parallelcluster)"),
    ("secondary-account/us-west-2/eks-training", "secondary-account/us-west-2/eks-training is in secondary-account, "
                                                 "not main-account"),
    ("main-account/us-west-2/eks-inference", "main-account/us-west-2/eks-inference is in us-west-2, not us-east-1"),
    ("main-account/us-east-1/nope", "no unit 'main-account/us-east-1/nope' under the live root"),
])
def test_purchase_for_a_cluster_that_cannot_take_the_capacity_is_refused(cli, cluster, expected):
    searched(cli)
    result = cli(["capacity-blocks", "purchase", "cbo-0a1b2c3d4e5f60718", "--cluster", cluster, "--yes"],
                 [search_call()])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert "purchase_capacity_block" not in result.calls


def test_region_is_required(cli):
    result = cli(["capacity-blocks", "list"], [])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no AWS Region: pass --region or set AWS_REGION"
