"""Unit → AssetSpec on the real live tree, and overriding the translator's hooks."""


import dagster as dg
import pytest

from ml_clusters.assets.terragrunt_units import build_unit_assets, terragrunt_assets
from ml_clusters.estate import load_estate
from ml_clusters.translator import TerragruntTranslator


@pytest.fixture(scope="module")
def estate():
    return load_estate(cache=False)


@pytest.fixture(scope="module")
def specs(estate):
    translator = TerragruntTranslator()
    return {tuple(s.key.path): s for s in (translator.get_asset_spec(u, estate) for u in estate.units.values())}


def test_every_unit_is_one_asset_keyed_by_its_path(estate, specs):
    assert set(specs) == {tuple(p.split("/")) for p in estate.units}
    assert ("main-account", "us-east-1", "eks-training") in specs
    assert ("secondary-account", "us-west-2", "hyperpod-slurm") in specs


def test_eks_spec(specs):
    spec = specs[("main-account", "us-east-1", "eks-training")]
    deps = {tuple(d.asset_key.path) for d in spec.deps}
    assert ("main-account", "us-east-1", "networking") in deps
    assert ("main-account", "us-east-1", "iam") in deps
    assert spec.group_name == "main_account__us_east_1"
    assert spec.kinds == {"terragrunt", "aws", "eks"}
    assert spec.tags["account"] == "main"
    assert spec.tags["account_id"] == "483026362307"
    assert spec.tags["region"] == "us-east-1"
    assert spec.tags["component"] == "eks-training"
    assert spec.owners == ["team:ml-platform"]
    assert spec.metadata["unit_path"] == "main-account/us-east-1/eks-training"
    assert "modules//eks-cluster" in spec.metadata["module_source"]
    assert spec.code_version and len(spec.code_version) == 16
    assert spec.skippable


def test_cross_account_edges(specs):
    replica = specs[("secondary-account", "us-west-2", "s3-data-replica")]
    assert ("main-account", "us-east-1", "s3-central-data") in {tuple(d.asset_key.path) for d in replica.deps}
    replication = specs[("main-account", "us-east-1", "s3-replication")]
    replication_deps = {tuple(d.asset_key.path) for d in replication.deps}
    assert ("secondary-account", "us-east-1", "s3-data-replica") in replication_deps
    assert ("secondary-account", "us-west-2", "s3-data-replica") in replication_deps


def test_component_kinds(specs):
    kinds = {key[-1]: spec.kinds - {"terragrunt", "aws"} for key, spec in specs.items() if key[0] == "main-account"}
    assert kinds["networking"] == {"vpc"}
    assert kinds["s3-central-data"] == {"s3"}
    assert kinds["parallelcluster"] == {"slurm"}
    assert kinds["argocd-bootstrap"] == {"argocd"}
    assert kinds["kms"] == {"kms"}
    hyperpod = specs[("secondary-account", "us-west-2", "hyperpod-slurm")]
    assert "sagemaker" in hyperpod.kinds


def test_hooks_can_be_overridden(estate):
    class TeamTranslator(TerragruntTranslator):
        def get_asset_key(self, unit):
            return dg.AssetKey(["estate", *unit.path.split("/")])

        def get_group_name(self, unit):
            return unit.account.name if unit.account else "none"

        def get_owners(self, unit):
            return ["platform@example.com"]

    @terragrunt_assets(estate=estate, translator=TeamTranslator(), name="custom_units")
    def custom_units(context: dg.AssetExecutionContext):
        yield from ()

    spec = next(
        s for s in custom_units.specs if s.key == dg.AssetKey(["estate", "main-account", "us-east-1", "eks-training"])
    )
    assert spec.group_name == "main"
    assert spec.owners == ["platform@example.com"]
    assert dg.AssetKey(["estate", "main-account", "us-east-1", "networking"]) in {d.asset_key for d in spec.deps}
    assert custom_units.can_subset


def test_multi_asset_holds_every_unit_in_one_subsettable_op(estate):
    assets = build_unit_assets(estate, TerragruntTranslator())
    assert assets.op.name == "terragrunt_units"
    assert assets.can_subset
    assert len(list(assets.specs)) == len(estate.units)
    assert {check.asset_key for check in assets.check_specs} == set(assets.keys)  # one plan_safe per unit


def test_a_check_spec_on_something_that_is_not_a_unit_is_refused_by_name(estate):
    # Dagster's own (quadratic) check of the same is switched off for speed; ours must still catch it.
    stray = dg.AssetCheckSpec("row_count", asset=dg.AssetKey(["warehouse", "orders"]))
    with pytest.raises(dg.DagsterInvalidDefinitionError, match="1 check spec.*row_count on warehouse/orders"):

        @terragrunt_assets(estate=estate, check_specs=[stray])
        def units(context: dg.AssetExecutionContext):
            yield from ()
