"""`ml-clusters training-plans ...` against Stubber-backed SageMaker.

The estate's HyperPod cluster (secondary-account/us-west-2/hyperpod-slurm) is placed in the first private
subnet only — us-west-2a — so a plan split across us-west-2a and us-west-2b is of no use to it.
"""

from __future__ import annotations

import json
import re

import dagster as dg
import pytest

from .responses import SECONDARY_ID, at, call, identity, plan_description, plan_offering, plan_segment, plan_summary

SEARCH = ["training-plans", "search", "--target", "hyperpod-cluster", "--instance-type", "ml.p5.48xlarge",
          "--count", "4", "--hours", "96", "--start-after", "+1d", "--end-before", "+21d",
          "--account", "secondary", "--region", "us-west-2"]
SEARCH_PARAMS = {"TargetResources": ["hyperpod-cluster"], "InstanceType": "ml.p5.48xlarge", "InstanceCount": 4,
                 "DurationHours": 96, "StartTimeAfter": at(days=1), "EndTimeBefore": at(days=21)}
WHOLE = plan_offering("tpo-3f9c2a7d41e8b6c05a1d9e7f2b4c6a8d0e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b",
                      [plan_segment("us-west-2a", start_day=4, hours=96)], fee="48611.52")
SPLIT = plan_offering("tpo-9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b",
                      [plan_segment("us-west-2a", start_day=3, hours=48),
                       plan_segment("us-west-2b", start_day=8, hours=48)], fee="45930.24")
SEARCH_RESPONSE = {"TrainingPlanOfferings": [SPLIT, WHOLE]}
HYPERPOD_KEY = dg.AssetKey(["secondary-account", "us-west-2", "hyperpod-slurm"])


def search_call():
    return call("sagemaker", "search_training_plan_offerings", SEARCH_RESPONSE, expected=SEARCH_PARAMS)


def flat(text: str) -> str:
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def observations(key):
    with dg.DagsterInstance.get() as instance:
        return [r.asset_observation for r in instance.fetch_observations(key, limit=10).records]


def test_search_shows_every_block_of_a_split_offering_with_its_az(cli):
    result = cli(SEARCH, [search_call()])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith(SPLIT["TrainingPlanOfferingId"]))
    assert lines[header].split("  ")[1:] == ["45,930.24 USD", "split into 2 blocks", "usable by: none"]
    rows = [line.split() for line in lines[header + 1:header + 6] if re.match(r"\s*[12]/2\s", line)]
    assert rows == [["1/2", "us-west-2a", "4", "x", "ml.p5.48xlarge", "2026-03-05", "11:30", "2026-03-07", "11:30",
                     "48"],
                    ["2/2", "us-west-2b", "4", "x", "ml.p5.48xlarge", "2026-03-10", "11:30", "2026-03-12", "11:30",
                     "48"]]
    whole = next(line for line in lines if line.startswith(WHOLE["TrainingPlanOfferingId"]))
    assert whole.endswith("48,611.52 USD  1 block  usable by: hyperpod-slurm")
    assert "a HyperPod cluster can only use it when its subnets include every block's AZ" in flat(result.stdout)


def test_search_json_lists_segments_and_azs(cli):
    result = cli([*SEARCH, "-o", "json"], [search_call()])
    assert result.exit_code == 0, result.stderr
    offerings = {o["offering_id"]: o for o in json.loads(result.stdout)["offerings"]}
    split = offerings[SPLIT["TrainingPlanOfferingId"]]
    assert split["availability_zones"] == ["us-west-2a", "us-west-2b"]
    assert [s["availability_zone"] for s in split["segments"]] == ["us-west-2a", "us-west-2b"]
    assert split["usable_by"] == []
    assert offerings[WHOLE["TrainingPlanOfferingId"]]["usable_by"] == ["secondary-account/us-west-2/hyperpod-slurm"]


@pytest.mark.parametrize("error, expected", [
    (("ResourceLimitExceeded", "You have reached the maximum number of instances for training plans."),
     "search_training_plan_offerings in us-west-2 failed (ResourceLimitExceeded"),
    (("AccessDeniedException", "User is not authorized to perform: sagemaker:SearchTrainingPlanOfferings"),
     "access denied"),
    (("UnknownOperationException", "The operation is not supported in this Region"),
     "search_training_plan_offerings is not available in us-west-2"),
])
def test_search_errors_are_one_line(cli, error, expected):
    result = cli(SEARCH, [call("sagemaker", "search_training_plan_offerings", error=error)])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_search_with_no_offerings(cli):
    result = cli(SEARCH, [call("sagemaker", "search_training_plan_offerings", {"TrainingPlanOfferings": []})])
    assert result.exit_code == 1
    assert "no training-plan offerings for 4 x ml.p5.48xlarge for 96 h (hyperpod-cluster)" in result.stderr


def test_search_rejects_ec2_instance_types_and_unknown_targets(cli):
    bad_type = cli(["training-plans", "search", "-t", "p5.48xlarge", "-n", "4", "--region", "us-west-2"], [])
    assert bad_type.exit_code == 1 and "try ml.p5.48xlarge" in bad_type.stderr
    bad_target = cli(["training-plans", "search", "-t", "ml.p5.48xlarge", "-n", "4", "--target", "notebook",
                      "--region", "us-west-2"], [])
    assert bad_target.exit_code == 2 and "unknown target resource 'notebook'" in bad_target.stderr  # a usage error


def buy_calls(offering=WHOLE, *, name="llm-pretrain-march", cluster="secondary-account/us-west-2/hyperpod-slurm"):
    tags = [{"Key": "ml-clusters:purchased-by", "Value": "<ANY>"}]
    if cluster:
        tags.append({"Key": "ml-clusters:unit", "Value": cluster})
    tags.append({"Key": "ml-clusters:account", "Value": "secondary-account"})
    summary = plan_summary(name, "Pending", offering["ReservedCapacityOfferings"], fee=offering["UpfrontFee"],
                           total=4, available=0, in_use=0)
    return [
        identity(SECONDARY_ID),
        call("sagemaker", "create_training_plan", {"TrainingPlanArn": summary["TrainingPlanArn"]},
             expected={"TrainingPlanName": name, "TrainingPlanOfferingId": offering["TrainingPlanOfferingId"],
                       "Tags": tags}),
        call("sagemaker", "describe_training_plan", plan_description(summary), expected={"TrainingPlanName": name}),
    ]


def test_purchase_with_yes_creates_the_plan_and_records_it_on_the_hyperpod_cluster(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "llm-pretrain-march",
                  "--max-price", "50000", "--yes"], [search_call(), *buy_calls()])
    assert result.exit_code == 0, result.stderr
    assert result.calls == ["search_training_plan_offerings", "get_caller_identity", "create_training_plan",
                            "describe_training_plan"]
    text = flat(result.stdout)
    assert "Block 1/1 4 x ml.p5.48xlarge in us-west-2a" in text
    assert "Bought training plan llm-pretrain-march (arn:aws:sagemaker:us-west-2:159553542841:training-plan/" \
           "llm-pretrain-march): Pending, 48,611.52 USD." in text
    [obs] = observations(HYPERPOD_KEY)
    assert obs.metadata["capacity/event"].value == "training plan purchased"
    assert obs.metadata["capacity/upfront_fee"].value == 48611.52


def test_purchase_of_a_split_offering_warns_that_no_cluster_spans_its_azs(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    refused = cli(["training-plans", "purchase", SPLIT["TrainingPlanOfferingId"], "--name", "split-plan", "--yes"],
                  [search_call()])
    assert refused.exit_code == 1
    assert refused.stderr == ("error: refused: no cluster of the estate is known to have subnets in its AZ; pass "
                              "--allow-unusable with --yes to buy it anyway; nothing bought\n")
    assert "create_training_plan" not in refused.calls
    result = cli(["training-plans", "purchase", SPLIT["TrainingPlanOfferingId"], "--name", "split-plan", "--yes",
                  "--allow-unusable"], [search_call(), *buy_calls(SPLIT, name="split-plan", cluster=None)])
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "Block 1/2 4 x ml.p5.48xlarge in us-west-2a" in text and "Block 2/2 4 x ml.p5.48xlarge in us-west-2b" in text
    assert ("WARNING No cluster of the estate can use a training plan in us-west-2a, us-west-2b: none of the "
            "clusters in secondary-account/us-west-2 (hyperpod-slurm) has subnets in us-west-2a, us-west-2b") in text
    assert "not recorded on a cluster asset: no cluster of the estate can use it" in text


def test_purchase_above_max_price_is_refused(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "p", "--max-price",
                  "48000", "--yes"], [search_call()])
    assert result.exit_code == 1
    assert "refused: upfront fee 48,611.52 USD is above --max-price 48,000.00 USD; nothing bought" in result.stderr
    assert "create_training_plan" not in result.calls


def test_purchase_without_a_terminal_and_without_yes_is_refused(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "p"], [search_call()],
                 input="purchase\n")
    assert result.exit_code == 1
    assert "refusing to buy without a terminal" in result.stderr
    assert "create_training_plan" not in result.calls


def test_purchase_dry_run_checks_the_offering_and_buys_nothing(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "p", "--dry-run"],
                 [search_call()])
    assert result.exit_code == 0, result.stderr
    assert "SageMaker has no DryRun for create_training_plan" in flat(result.stdout)
    assert result.calls == ["search_training_plan_offerings"]


def test_purchase_of_an_expired_offering_buys_nothing(cli):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "p", "--yes"],
                 [call("sagemaker", "search_training_plan_offerings", {"TrainingPlanOfferings": [SPLIT]})])
    assert result.exit_code == 1
    assert "is no longer offered for 4 x ml.p5.48xlarge for 96 h (hyperpod-cluster)" in result.stderr
    assert "create_training_plan" not in result.calls


@pytest.mark.parametrize("error, expected", [
    (("ResourceNotFound", "Training plan offering not found."), "is no longer available (it expired or was taken"),
    (("ResourceInUse", "Training plan with name p already exists."), "a training plan named 'p' already exists"),
    (("InsufficientCapacityException", "Insufficient capacity for the requested offering."), "insufficient capacity"),
])
def test_purchase_errors(cli, error, expected):
    assert cli(SEARCH, [search_call()]).exit_code == 0
    result = cli(["training-plans", "purchase", WHOLE["TrainingPlanOfferingId"], "--name", "p", "--yes"],
                 [search_call(), identity(SECONDARY_ID), call("sagemaker", "create_training_plan", error=error)])
    assert result.exit_code == 1
    assert expected in result.stderr and "nothing bought" in result.stderr
    assert observations(HYPERPOD_KEY) == []


def test_purchase_rejects_an_invalid_plan_name_before_anything_else(cli):
    result = cli(["training-plans", "purchase", "tpo-x", "--name", "my plan!", "--yes"], [])
    assert result.exit_code == 1 and "invalid training plan name 'my plan!'" in result.stderr


ACTIVE = plan_summary("llm-pretrain-feb", "Active", [plan_segment("us-west-2a", start_day=-1, hours=96)],
                      fee="48611.52", total=4, available=1, in_use=3)
SCHEDULED = plan_summary("llm-finetune-march", "Scheduled", [plan_segment("us-west-2a", start_day=3, hours=48),
                                                            plan_segment("us-west-2b", start_day=8, hours=48)],
                         fee="45930.24", total=8, available=8, in_use=0)


def test_list_shows_status_and_available_in_use_unhealthy_counts(cli):
    result = cli(["training-plans", "list", "--region", "us-west-2"], [
        call("sagemaker", "list_training_plans", {"TrainingPlanSummaries": [SCHEDULED, ACTIVE]},
             expected={"SortBy": "StartTime", "SortOrder": "Descending"}),
        call("sagemaker", "describe_training_plan", plan_description(ACTIVE, unhealthy=1),
             expected={"TrainingPlanName": "llm-pretrain-feb"}),
    ])
    assert result.exit_code == 0, result.stderr
    active = next(line.split() for line in result.stdout.splitlines() if "llm-pretrain-feb" in line)
    assert active == ["llm-pretrain-feb", "Active", "ml.p5.48xlarge", "us-west-2a", "4", "1", "3", "1",
                      "2026-03-01", "11:30", "2026-03-05", "11:30"]
    scheduled = next(line.split() for line in result.stdout.splitlines() if "llm-finetune-march" in line)
    assert scheduled[:9] == ["llm-finetune-march", "Scheduled", "ml.p5.48xlarge", "us-west-2a,", "us-west-2b", "8",
                             "8", "0", "-"]


def test_list_paginates_and_filters_by_status(cli):
    result = cli(["training-plans", "list", "--status", "Scheduled", "--region", "us-west-2", "-o", "json"], [
        call("sagemaker", "list_training_plans", {"TrainingPlanSummaries": [SCHEDULED], "NextToken": "page-2"},
             expected={"SortBy": "StartTime", "SortOrder": "Descending",
                       "Filters": [{"Name": "Status", "Value": "Scheduled"}]}),
        call("sagemaker", "list_training_plans", {"TrainingPlanSummaries": [
            plan_summary("older-plan", "Scheduled", [plan_segment("us-west-2c", start_day=20, hours=24)],
                         fee="1.00", total=1, available=1, in_use=0)]},
             expected={"SortBy": "StartTime", "SortOrder": "Descending",
                       "Filters": [{"Name": "Status", "Value": "Scheduled"}], "NextToken": "page-2"}),
    ])
    assert result.exit_code == 0, result.stderr
    assert [p["name"] for p in json.loads(result.stdout)["training_plans"]] == ["llm-finetune-march", "older-plan"]


def test_list_rejects_unknown_status(cli):
    result = cli(["training-plans", "list", "--status", "Running", "--region", "us-west-2"], [])
    assert result.exit_code == 1 and "unknown status 'Running'" in result.stderr


def test_describe_shows_counts_and_each_reserved_block(cli):
    result = cli(["training-plans", "describe", "llm-finetune-march", "--region", "us-west-2"], [
        call("sagemaker", "describe_training_plan", plan_description(SCHEDULED, unhealthy=0),
             expected={"TrainingPlanName": "llm-finetune-march"})])
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "Instances total 8, available 8, in use 0, unhealthy 0" in text
    assert "1/2 Scheduled us-west-2a 4 x ml.p5.48xlarge 2026-03-05 11:30 2026-03-07 11:30 48" in text
    assert "2/2 Scheduled us-west-2b 4 x ml.p5.48xlarge 2026-03-10 11:30 2026-03-12 11:30 48" in text


def test_describe_an_unknown_plan(cli):
    result = cli(["training-plans", "describe", "nope", "--region", "us-west-2"], [
        call("sagemaker", "describe_training_plan", error=("ResourceNotFound", "Training plan nope not found."))])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: no training plan 'nope' in us-west-2"


def test_fit_of_a_split_plan(cli):
    result = cli(["training-plans", "fit", "llm-finetune-march", "--region", "us-west-2", "-o", "json"], [
        call("sagemaker", "describe_training_plan", plan_description(SCHEDULED))])
    assert result.exit_code == 3
    doc = json.loads(result.stdout)
    assert doc["usable_by"] == []
    assert {(f["az"], f["fits"]) for f in doc["fits"]} == {("us-west-2a", True), ("us-west-2b", False)}


def test_a_training_job_plan_is_bought_without_a_cluster_fit(cli):
    job_offer = plan_offering("tpo-0011223344556677889900aabbccddeeff00112233445566778899aabbccddee",
                              [plan_segment("us-west-2c", start_day=2, hours=24, count=2)], fee="6075.84",
                              target="training-job")
    search = call("sagemaker", "search_training_plan_offerings", {"TrainingPlanOfferings": [job_offer]},
                  expected={"TargetResources": ["training-job"], "InstanceType": "ml.p5.48xlarge",
                            "InstanceCount": 2, "DurationHours": 24})
    summary = plan_summary("nightly-eval", "Pending", job_offer["ReservedCapacityOfferings"], fee="6075.84",
                           total=2, available=0, in_use=0)
    result = cli(["training-plans", "purchase", job_offer["TrainingPlanOfferingId"], "--name", "nightly-eval",
                  "--target", "training-job", "-t", "ml.p5.48xlarge", "-n", "2", "--hours", "24",
                  "--account", "secondary", "--region", "us-west-2", "--yes"],
                 [search, identity(SECONDARY_ID),
                  call("sagemaker", "create_training_plan", {"TrainingPlanArn": summary["TrainingPlanArn"]},
                       expected={"TrainingPlanName": "nightly-eval",
                                 "TrainingPlanOfferingId": job_offer["TrainingPlanOfferingId"],
                                 "Tags": [{"Key": "ml-clusters:purchased-by", "Value": "<ANY>"},
                                          {"Key": "ml-clusters:account", "Value": "secondary-account"}]}),
                  call("sagemaker", "describe_training_plan", plan_description(summary))])
    assert result.exit_code == 0, result.stderr
    text = flat(result.stdout)
    assert "AZ fit" not in text and "WARNING" not in text
    assert "not recorded on a cluster asset: a training-job plan is not used by a cluster unit" in text
