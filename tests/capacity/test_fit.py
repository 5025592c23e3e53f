"""AZ fit against the repository's estate, with and without outputs recorded in a Dagster instance."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg
import pytest

from ml_clusters.capacity.fit import (
    azs_from_outputs,
    candidate_clusters,
    check_fit,
    cluster_azs,
    fits_for,
    outputs_from_metadata,
    recorded_outputs_lookup,
    usable_clusters,
)
from ml_clusters.estate import Estate, load_estate
from ml_clusters.translator import TerragruntTranslator


@pytest.fixture(scope="module")
def estate() -> Estate:
    return load_estate(Path(__file__).resolve().parents[2] / "terraform" / "live")


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_static_azs_of_each_cluster(estate):
    found = {p: cluster_azs(estate, u) for p, u in estate.units.items()
             if u.module in ("eks-cluster", "parallelcluster", "hyperpod")}
    assert found["main-account/us-east-1/eks-training"].azs == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert found["main-account/us-east-1/eks-training"].source == "input azs of main-account/us-east-1/networking"
    assert found["main-account/us-east-1/parallelcluster"].azs == ("us-east-1a",)
    assert found["main-account/us-east-1/parallelcluster"].source == (
        "input compute_availability_zone of main-account/us-east-1/parallelcluster")
    hyperpod = found["secondary-account/us-west-2/hyperpod-slurm"]
    assert hyperpod.azs == ("us-west-2a",)  # placed in private_subnet_ids[0] only
    assert hyperpod.source.endswith("the cluster uses private subnet [0] only")


def test_candidates_are_per_account_region_and_kind(estate):
    assert [u.path for u in candidate_clusters(estate, account_key="main-account", region="us-east-1",
                                               kind="capacity-block")] == [
        "main-account/us-east-1/eks-training", "main-account/us-east-1/parallelcluster"]
    assert [u.path for u in candidate_clusters(estate, account_key="secondary-account", region="us-west-2",
                                               kind="hyperpod-cluster")] == [
        "secondary-account/us-west-2/hyperpod-slurm"]
    # AZ names are per account: main-account's clusters never count for secondary-account capacity
    assert candidate_clusters(estate, account_key="secondary-account", region="us-east-1",
                              kind="capacity-block") == []
    assert candidate_clusters(estate, account_key="main-account", region="us-east-1", kind="training-job") == []


def test_a_split_plan_must_fit_in_every_az(estate):
    fits = fits_for(estate, account_key="secondary-account", region="us-west-2", kind="hyperpod-cluster",
                    azs=["us-west-2a", "us-west-2b"])
    assert [(f.az, f.fits) for f in fits] == [("us-west-2a", True), ("us-west-2b", False)]
    assert usable_clusters(fits) == []
    assert usable_clusters(fits[:1]) == ["secondary-account/us-west-2/hyperpod-slurm"]


def test_recorded_networking_outputs_win_over_the_estate_inputs(estate):
    """What Terraform built (recorded at the networking unit's last materialization) decides, and the
    HyperPod cluster's subnet [0] is looked up in the recorded subnets."""
    net = "secondary-account/us-west-2/networking"
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key(net), metadata={
            "mode": "apply",
            "outputs": dg.MetadataValue.json({
                "vpc_id": "vpc-0c1d2e3f4a5b6c7d8",
                "private_subnet_ids": ["subnet-0b2", "subnet-0c3"],
                "private_subnets_by_az": {"us-west-2b": "subnet-0b2", "us-west-2c": "subnet-0c3"},
                "flow_log_role_arn": "(sensitive)",
            }),
        }))
        translator = TerragruntTranslator()
        recorded = recorded_outputs_lookup(instance, lambda p: translator.get_asset_key(estate.unit(p)))
        hyperpod = cluster_azs(estate, estate.unit("secondary-account/us-west-2/hyperpod-slurm"), recorded)
        eks = cluster_azs(estate, estate.unit("secondary-account/us-west-2/eks-training"), recorded)
    assert hyperpod.azs == ("us-west-2b",)
    assert hyperpod.source.startswith("outputs of secondary-account/us-west-2/networking recorded at its last "
                                      "materialization")
    assert eks.azs == ("us-west-2b", "us-west-2c")


def test_without_a_materialization_the_lookup_falls_back_to_inputs(estate):
    with dg.instance_for_test() as instance:
        recorded = recorded_outputs_lookup(instance, lambda p: key(p))
        found = cluster_azs(estate, estate.unit("main-account/us-east-1/eks-training"), recorded)
    assert found.source == "input azs of main-account/us-east-1/networking"


def test_outputs_from_metadata_reads_the_json_entry_and_per_output_entries():
    metadata = {"outputs": dg.MetadataValue.json({"azs": ["us-east-1a"]}),
                "outputs/private_subnet_azs": dg.MetadataValue.json(["us-east-1b", "us-east-1b"]),
                "mode": dg.MetadataValue.text("apply")}
    outputs = outputs_from_metadata(metadata)
    assert outputs == {"azs": ["us-east-1a"], "private_subnet_azs": ["us-east-1b", "us-east-1b"]}
    assert azs_from_outputs(outputs) == ("us-east-1b", "us-east-1b")  # per subnet: indexes stay meaningful


@pytest.mark.parametrize("outputs, expected", [
    ({"azs": "(sensitive)"}, None),
    ({"azs": {"value": ["us-east-1a"], "type": ["list", "string"], "sensitive": True}}, None),
    ({"azs": {"value": ["us-east-1a"], "type": ["list", "string"], "sensitive": False}}, ("us-east-1a",)),
    ({"private_subnets_by_az": {"us-east-1c": ["subnet-1", "subnet-2"]}, "private_subnet_ids": ["subnet-2"]},
     ("us-east-1c",)),
    ({"availability_zones": "[\"us-east-1a\", \"us-e… (truncated)"}, None),
])
def test_azs_from_outputs_ignores_what_is_not_an_az(outputs, expected):
    assert azs_from_outputs(outputs) == expected


def test_a_cluster_whose_azs_cannot_be_known_is_reported_unknown(estate, tmp_path):
    eks = estate.unit("main-account/us-east-1/eks-training")
    lonely = replace(eks, path="lab/us-east-1/eks", dependencies=(), inputs={"subnet_ids": ["subnet-1"]},
                     files=(), dir=tmp_path / "lab" / "us-east-1" / "eks")
    fit = check_fit(Estate(root=estate.root, units={lonely.path: lonely}), lonely, "us-east-1a")
    assert fit.fits is None and fit.source == "no networking outputs or inputs name its AZs"
    assert usable_clusters([fit]) == []
