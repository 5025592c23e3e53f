"""The `terragrunt_units` multi-asset: every unit of the estate, one subsettable op (dagster-dbt style)."""

# No `from __future__ import annotations`: Dagster reads the op's parameter annotations at runtime.
from typing import Any, Callable, List, Literal, Optional

import dagster as dg
from pydantic import Field

from ml_clusters.estate import Estate
from ml_clusters.execution.step import PLAN_SAFE, run_terragrunt_step
from ml_clusters.resources.terragrunt import TerragruntCli
from ml_clusters.translator import TerragruntTranslator

ASSETS_NAME = "terragrunt_units"
# Instance concurrency pool of the step: with a limit of 1 (`concurrency: pools: default_limit: 1`,
# see docs/readme/execution.md), two runs never run terragrunt against the estate at the same time,
# whatever launched them: the pool is on the op, not on a job or a run tag.
TERRAGRUNT_POOL = "terragrunt"
RESOURCE_KEY = "terragrunt"


class AllowDestroy(dg.Config):
    """One destructive change the guard lets through: a resource address in one unit."""

    unit: str = Field(description='unit path, e.g. "main-account/us-east-1/shared-storage"')
    address: str = Field(description='resource address from the plan, e.g. "aws_fsx_lustre_file_system.this"')


class UnitsConfig(dg.Config):
    """Run config of the `terragrunt_units` op."""

    mode: Literal["plan", "apply"] = Field(
        default="apply", description="plan: plan and record the summary, no materialization. apply: apply a plan."
    )
    allow_destroy: List[AllowDestroy] = Field(
        default_factory=list,
        description="deletes/replaces of stateful resources (S3, FSx, EFS, EKS, clusters, KMS) allowed in this run",
    )
    parallelism: int = Field(default=8, ge=1, description="units run at the same time (dependency order always holds)")
    unit_timeout_minutes: float = Field(
        default=120, gt=0, description="a unit taking longer is interrupted (SIGINT, then SIGKILL) and fails"
    )
    max_plan_age_minutes: float = Field(
        default=24 * 60, gt=0, description="apply re-plans instead of using a saved plan older than this"
    )


def plan_safe_check_specs(estate: Estate, translator: TerragruntTranslator) -> List[dg.AssetCheckSpec]:
    """One blocking `plan_safe` check per unit: the destructive-change guard's verdict on its plan."""
    return [
        dg.AssetCheckSpec(
            PLAN_SAFE,
            asset=translator.get_asset_key(estate.units[path]),
            blocking=True,
            description="The unit's plan deletes or replaces no stateful resource unless allow-listed in the run config.",
        )
        for path in estate.topological_order
    ]


def terragrunt_assets(
    *,
    estate: Estate,
    translator: Optional[TerragruntTranslator] = None,
    name: str = ASSETS_NAME,
    **multi_asset_kwargs: Any,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """Decorate a function that runs the selected units; one asset spec and one `plan_safe` check per unit.

        @terragrunt_assets(estate=estate)
        def my_units(context: dg.AssetExecutionContext, config: UnitsConfig, terragrunt: TerragruntCli):
            yield from run_terragrunt_step(context, config, terragrunt, estate, translator)
    """
    translator = translator or TerragruntTranslator()
    specs = [translator.get_asset_spec(estate.units[path], estate) for path in estate.topological_order]
    multi_asset_kwargs.setdefault("check_specs", plan_safe_check_specs(estate, translator))
    multi_asset_kwargs.setdefault("pool", TERRAGRUNT_POOL)
    _check_specs_target_units(multi_asset_kwargs["check_specs"], specs)
    # Checked just above with a set: Dagster's own check of the same (a list scan per check spec) is
    # quadratic, about a second at 5,000 units. The flag skips only that check (dagster 1.13.27).
    multi_asset_kwargs.setdefault("allow_arbitrary_check_specs", True)

    def decorator(fn: Callable[..., Any]) -> dg.AssetsDefinition:
        return dg.multi_asset(specs=specs, can_subset=True, name=name, **multi_asset_kwargs)(fn)

    return decorator


def _check_specs_target_units(check_specs: Any, specs: List[dg.AssetSpec]) -> None:
    units = {spec.key for spec in specs}
    stray = [check for check in check_specs or () if check.asset_key not in units]
    if stray:
        names = ", ".join(f"{check.name} on {check.asset_key.to_user_string()}" for check in stray[:5])
        raise dg.DagsterInvalidDefinitionError(
            f"{len(stray)} check spec(s) target an asset that is not a unit of this estate: {names}"
        )


def build_unit_assets(estate: Estate, translator: TerragruntTranslator) -> dg.AssetsDefinition:
    @terragrunt_assets(estate=estate, translator=translator)
    def terragrunt_units(context: dg.AssetExecutionContext, config: UnitsConfig, terragrunt: TerragruntCli):
        yield from run_terragrunt_step(context, config, terragrunt, estate, translator)

    return terragrunt_units


# Run tag carried by the plan/apply jobs, for optional run-queue limits in dagster.yaml. Not a
# safety mechanism: Materialize-button runs don't carry it; the `terragrunt` pool is what protects.
MODE_TAG = "ml-clusters/mode"


def build_unit_jobs(assets: dg.AssetsDefinition) -> List[Any]:
    """`terragrunt_plan` and `terragrunt_apply`: the units with the mode preset and tagged on the run."""
    return [
        dg.define_asset_job(
            f"terragrunt_{mode}",
            selection=dg.AssetSelection.assets(assets),
            config={"ops": {ASSETS_NAME: {"config": {"mode": mode}}}},
            tags={MODE_TAG: mode},
            description=f"{mode.capitalize()} the selected Terragrunt units (pick a subset in the Launchpad).",
        )
        for mode in ("plan", "apply")
    ]


def build_unit_defs(estate: Estate, translator: TerragruntTranslator) -> dg.Definitions:
    assets = build_unit_assets(estate, translator)
    return dg.Definitions(assets=[assets], jobs=build_unit_jobs(assets), resources={RESOURCE_KEY: TerragruntCli()})
