"""`ml-clusters training-plans`: SageMaker Training Plans — search, purchase, list, describe, fit."""

from __future__ import annotations

import re
from typing import Annotated, Optional

import typer

from ml_clusters.capacity import aws, clock, offers, plans, render
from ml_clusters.capacity.accounts import target_for
from ml_clusters.cli_usage import OneLineCommand, OneLineGroup
from ml_clusters.capacity.cli_common import (
    AccountOpt,
    AllowUnusableOpt,
    ClusterOpt,
    DryRunOpt,
    MaxPriceOpt,
    Output,
    OutputOpt,
    RegionOpt,
    Run,
    SearchCountOpt,
    SearchHoursOpt,
    YesOpt,
    check_usable,
    cluster_for_record,
    command,
    confirm_purchase,
    decimal,
    fit_report,
    interactive,
    window,
    purchase_place,
    record,
    show_fits,
)
from ml_clusters.capacity.errors import CapacityError
from ml_clusters.capacity.fit import Fit, check_cluster, fits_for, usable_clusters
from ml_clusters.capacity.guard import check_price, monotonic
from ml_clusters.capacity.models import money

plans_app = typer.Typer(
    cls=OneLineGroup,
    help="SageMaker Training Plans (HyperPod clusters, training jobs, endpoints): search, purchase, list, describe.",
    no_args_is_help=True,
)

def _known_target(value: Optional[str]) -> Optional[str]:
    """A bad --target is a usage error (exit 2) before anything else runs."""
    if value is not None and value not in plans.TARGETS:
        raise typer.BadParameter(f"unknown target resource {value!r}; use one of {', '.join(plans.TARGETS)}")
    return value


TargetOpt = Annotated[
    str, typer.Option("--target", help="hyperpod-cluster | training-job | endpoint.", callback=_known_target)
]


@plans_app.command("search", cls=OneLineCommand)
@command
def plans_search(
    instance_type: Annotated[str, typer.Option("--instance-type", "-t", help="SageMaker type, e.g. ml.p5.48xlarge.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Number of instances.")],
    hours: Annotated[Optional[int], typer.Option("--hours", min=1, help="Duration in hours.",
                                                 show_default=False)] = None,
    target: TargetOpt = "hyperpod-cluster",
    start_after: Annotated[Optional[str], typer.Option("--start-after", help="ISO date/time or +3d.",
                                                       show_default=False)] = None,
    end_before: Annotated[Optional[str], typer.Option("--end-before", help="ISO date/time or +14d.",
                                                      show_default=False)] = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Find training-plan offerings, with every reserved block an offering is split into and its AZ."""
    run = Run(output)
    start_at, end_at = window(start_after, end_before, start_opt="--start-after", end_opt="--end-before")
    acct, region, tgt = run.place(account, region)
    query = plans.PlanQuery(target, instance_type, count, hours, start_at, end_at)
    found = plans.search_offerings(aws.client("sagemaker", tgt), query, region=region)
    if not found:
        raise CapacityError(f"no training-plan offerings for {query.describe()} in {tgt.describe()}; try another "
                            "count, duration or date window")
    offers.remember("training-plan", [o.offering_id for o in found], account=acct.key if acct else None,
                    region=region, query=query.to_json(), now=clock.now())
    fits = None
    if acct is not None and target == "hyperpod-cluster":
        recorded = run.recorded_outputs()
        fits = {o.offering_id: fits_for(run.estate, account_key=acct.key, region=region, kind=target,
                                        azs=o.availability_zones, recorded=recorded) for o in found}
    if run.json:
        run.emit({"account": acct.key if acct else None, "region": region, "query": query.to_json(),
                  "offerings": [{**o.to_json(), "availability_zones": list(o.availability_zones),
                                 **({"usable_by": usable_clusters(fits[o.offering_id])} if fits is not None else {})}
                                for o in found]})
        return
    run.say(f"Training-plan offerings for {query.describe()} in {tgt.describe()}:")
    run.say(render.plan_offerings(found, fits))
    if any(len(o.segments) > 1 for o in found):
        run.say("A split offering reserves several blocks, possibly in different AZs and time windows; a HyperPod "
                "cluster can only use it when its subnets include every block's AZ.", style="yellow")
    if fits is None and target == "hyperpod-cluster":
        run.say("Pass --account to see which HyperPod clusters of the estate can use each offering.", style="dim")
    run.say("Buy one with: ml-clusters training-plans purchase OFFERING_ID --name PLAN_NAME", style="dim")


@plans_app.command("purchase", cls=OneLineCommand)
@command
def plans_purchase(
    offering_id: Annotated[str, typer.Argument(help="Offering id from `search` (tpo-...).")],
    name: Annotated[str, typer.Option("--name", help="Name of the new plan (letters, digits, hyphens).")],
    cluster: ClusterOpt = None,
    max_price: MaxPriceOpt = None,
    yes: YesOpt = False,
    allow_unusable: AllowUnusableOpt = False,
    dry_run: DryRunOpt = False,
    target: Annotated[Optional[str], typer.Option(
        "--target", help="Search parameters, when the offering was not found by `search` here.", callback=_known_target,
        show_default=False)] = None,
    instance_type: Annotated[Optional[str], typer.Option("--instance-type", "-t", show_default=False)] = None,
    count: SearchCountOpt = None,
    hours: SearchHoursOpt = None,
    start_after: Annotated[Optional[str], typer.Option("--start-after", show_default=False)] = None,
    end_before: Annotated[Optional[str], typer.Option("--end-before", show_default=False)] = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Buy a training plan (create_training_plan): shows it and its upfront fee, then asks you to type `purchase`."""
    run = Run(output)
    plans.check_plan_name(name)
    remembered = offers.recall("training-plan", offering_id, now=clock.now())
    if instance_type and count:
        query = plans.PlanQuery(target or "hyperpod-cluster", instance_type, count, hours,
                                *window(start_after, end_before, start_opt="--start-after",
                                        end_opt="--end-before"))
    elif remembered is not None:
        query = plans.PlanQuery.from_json(remembered.query)
    else:
        raise CapacityError(f"offering {offering_id} was not found by a recent `training-plans search` here; run "
                            "search first, or pass the search's --target, --instance-type, --count and --hours; "
                            "nothing bought")
    acct, region = purchase_place(run, account, region, remembered, offering_id)
    tgt = target_for(acct, region)
    if cluster:  # an unknown or unsuitable --cluster is refused before anything is asked of AWS
        check_cluster(run.estate, cluster, kind="hyperpod-cluster", account_key=acct.key, region=region)

    offering = plans.find_offering(aws.client("sagemaker", tgt), query, offering_id, region=region)
    looked_up_at = monotonic()
    if remembered is not None:
        run.say(f"Checked just now: {offering_id} is still on offer.", style="dim")
    run.say(render.plan_offering_summary(offering, tgt.describe(), name))
    # Only HyperPod plans (or a plan named for a --cluster) are placed in a cluster's subnets: check the AZ fit.
    for_cluster = query.target == "hyperpod-cluster" or bool(cluster)
    fits: list[Fit] = []
    if for_cluster:
        fits = fits_for(run.estate, account_key=acct.key, region=region, kind="hyperpod-cluster",
                        azs=offering.availability_zones, recorded=run.recorded_outputs(), cluster=cluster)
        show_fits(run, fits, what=f"a training plan in {', '.join(offering.availability_zones) or 'an unknown AZ'}",
                   scope=f"{acct.key}/{region}", cluster=cluster)
    check_price(offering.upfront_fee, offering.currency, decimal(max_price))
    if for_cluster and not dry_run:
        check_usable(fits, cluster=cluster, yes=yes, allow_unusable=allow_unusable)
    if for_cluster:
        record_on, why_not = cluster_for_record(cluster, fits)
    else:
        record_on, why_not = None, f"a {query.target} plan is not used by a cluster unit (pass --cluster to name one)"
    from ml_clusters.capacity.records import purchase_tags

    tags = purchase_tags(cluster=record_on, account_label=acct.key)
    if dry_run:
        if run.json:
            run.emit({"dry_run": True, "offering": offering.to_json(), "name": name,
                      "fits": [f.to_json() for f in fits]})
        run.say("Dry run: the offering is still on offer and within the limits; SageMaker has no DryRun for "
                "create_training_plan, so permissions were not checked; nothing bought.", style="bold")
        return
    offering = confirm_purchase(
        run, offering, word="purchase", question=f"Buy training plan {name!r} ({len(offering.segments)} reserved "
        f"block{'s' if len(offering.segments) != 1 else ''}) for {money(offering.upfront_fee, offering.currency)} "
        "(upfront, non-refundable)?", yes=yes, interactive=interactive(), looked_up_at=looked_up_at,
        what=offering_id, target=tgt, action="purchase",
        lookup=lambda: plans.find_offering(aws.client("sagemaker", tgt), query, offering_id, region=region))
    sm_buy = aws.client("sagemaker", tgt, purpose="buy")
    arn = plans.purchase(sm_buy, offering, name=name, tags=tags, region=region)
    try:
        status = plans.describe_plan(aws.client("sagemaker", tgt), name, region=region).status
    except Exception:  # noqa: BLE001 — the plan is bought; only its status is unknown
        status = "status unknown"
    recorded = record(run, cluster=record_on, why_not=why_not, event="training plan purchased", capacity_id=arn,
                       fee=offering.upfront_fee, currency=offering.currency, account_label=acct.key, region=region,
                       via="ml-clusters training-plans purchase",
                       details={"offering_id": offering.offering_id, "plan_name": name,
                                "availability_zones": ", ".join(offering.availability_zones),
                                "blocks": len(offering.segments), "start": offering.start, "end": offering.end})
    if run.json:
        run.emit({"purchased": {"name": name, "arn": arn, "status": status}, "offering": offering.to_json(),
                  "fits": [f.to_json() for f in fits], "record": recorded})
    run.say(f"Bought training plan {name} ({arn}): {status}, {money(offering.upfront_fee, offering.currency)}.",
            style="bold green")
    run.say(f"Dagster: {recorded}")


@plans_app.command("list", cls=OneLineCommand)
@command
def plans_list(
    status: Annotated[Optional[str], typer.Option(
        "--status", help=f"Only plans in this status ({', '.join(plans.PLAN_STATUSES)}).", show_default=False)] = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Training plans with status and available / in-use / unhealthy instance counts."""
    run = Run(output)
    if status and status not in plans.PLAN_STATUSES:
        raise CapacityError(f"unknown status {status!r}; use one of {', '.join(plans.PLAN_STATUSES)}")
    acct, region, tgt = run.place(account, region)
    found = plans.list_plans(aws.client("sagemaker", tgt), status=status, region=region)
    if run.json:
        run.emit({"account": acct.key if acct else None, "region": region,
                  "training_plans": [p.to_json() for p in found]})
        return
    if not found:
        run.say(f"No training plans in {tgt.describe()}" + (f" with status {status}." if status else "."))
        return
    run.say(f"Training plans in {tgt.describe()} (unhealthy counts are read for active plans):")
    run.say(render.plans(found))


@plans_app.command("describe", cls=OneLineCommand)
@command
def plans_describe(
    name: Annotated[str, typer.Argument(help="Plan name or ARN.")],
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """One training plan: status, instance counts (incl. unhealthy) and each reserved block with its AZ."""
    run = Run(output)
    acct, region, tgt = run.place(account, region)
    plan = plans.describe_plan(aws.client("sagemaker", tgt), name, region=region)
    if run.json:
        run.emit(plan.to_json())
        return
    head, reserved = render.plan_detail(plan)
    run.say(head)
    run.say(reserved)


@plans_app.command("fit", cls=OneLineCommand)
@command
def plans_fit(
    name: Annotated[str, typer.Argument(help="Plan name or ARN.")],
    cluster: ClusterOpt = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Which HyperPod clusters of the estate have subnets in every AZ of this plan."""
    run = Run(output)
    acct, region, tgt = run.place(account, region)
    plan = plans.describe_plan(aws.client("sagemaker", tgt), name, region=region)
    m = re.match(r"^arn:[^:]+:sagemaker:[^:]*:(\d{12}):", plan.arn)
    acct = acct or run.account_by_id(m.group(1) if m else None)
    if acct is None and not cluster:
        raise CapacityError(f"plan {plan.name} belongs to an account that is not in the estate; pass --cluster")
    if not plan.availability_zones:
        raise CapacityError(f"plan {plan.name} names no AZ yet (status {plan.status}); try again once it is scheduled")
    fit_report(run, acct, region=region, kind="hyperpod-cluster", azs=plan.availability_zones, cluster=cluster,
               what=f"plan {plan.name} ({', '.join(plan.availability_zones)})")
