"""`ml-clusters capacity-blocks`: EC2 Capacity Blocks — search, purchase, list, extend, auto-extend, fit."""

from __future__ import annotations

import math
from typing import Annotated, Optional

import typer
from botocore.exceptions import ClientError

from ml_clusters.capacity import aws, blocks, clock, offers, render
from ml_clusters.capacity import tags as tag_names
from ml_clusters.capacity.accounts import target_for
from ml_clusters.capacity.auto_extend import TAG_HOURS, TAG_LEAD_HOURS, TAG_MAX_PRICE, AutoExtendSettings
from ml_clusters.cli_usage import OneLineCommand, OneLineGroup, usage_error
from ml_clusters.capacity.cli_common import (
    AccountOpt,
    AllowUnusableOpt,
    ClusterOpt,
    DryRunOpt,
    EndOpt,
    MaxPriceOpt,
    Output,
    OutputOpt,
    RegionOpt,
    Run,
    StartOpt,
    SearchCountOpt,
    SearchHoursOpt,
    YesOpt,
    check_usable,
    block_hours,
    cluster_for_record,
    command,
    confirm_purchase,
    decimal,
    fit_report,
    interactive,
    purchase_place,
    record,
    show_fits,
    window,
)
from ml_clusters.capacity.errors import CapacityError, explain
from ml_clusters.capacity.fit import check_cluster, extension_record_units, fits_for, usable_clusters
from ml_clusters.capacity.guard import check_price, monotonic
from ml_clusters.capacity.models import money

blocks_app = typer.Typer(
    cls=OneLineGroup,
    help="EC2 Capacity Blocks for ML (raw EC2: ParallelCluster queues, EKS/Karpenter): search, purchase, list, "
         "extend.",
    no_args_is_help=True,
)


@blocks_app.command("search", cls=OneLineCommand)
@command
def blocks_search(
    instance_type: Annotated[str, typer.Option("--instance-type", "-t", help="EC2 type, e.g. p5.48xlarge.")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Number of instances.")],
    hours: Annotated[int, typer.Option("--hours", min=1, help="Duration in hours (whole days up to 14 days, "
                                                                "then whole weeks).")],
    start: StartOpt = None,
    end: EndOpt = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Find Capacity Block offerings (describe_capacity_block_offerings)."""
    run = Run(output)
    if instance_type.startswith("ml."):
        raise CapacityError(f"{instance_type} is a SageMaker type; Capacity Blocks take EC2 types such as "
                            f"{instance_type[3:]} (use `training-plans` for ml.* types)")
    block_hours(hours)
    start_at, end_at = window(start, end)
    acct, region, target = run.place(account, region)
    query = blocks.BlockQuery(instance_type, count, hours, start_at, end_at)
    found = blocks.search_offerings(aws.client("ec2", target), query, region=region)
    if not found:
        raise CapacityError(f"no Capacity Block offerings for {query.describe()} in {target.describe()}; try "
                            "another count, duration or date window")
    offers.remember("capacity-block", [o.offering_id for o in found], account=acct.key if acct else None,
                    region=region, query=query.to_json(), now=clock.now())
    fits = None
    if acct is not None:
        recorded = run.recorded_outputs()
        fits = {o.offering_id: fits_for(run.estate, account_key=acct.key, region=region, kind="capacity-block",
                                        azs=[o.availability_zone], recorded=recorded) for o in found}
    if run.json:
        run.emit({"account": acct.key if acct else None, "region": region, "query": query.to_json(),
                  "offerings": [{**o.to_json(), **({"usable_by": usable_clusters(fits[o.offering_id])}
                                                   if fits is not None else {})} for o in found]})
        return
    run.say(f"Capacity Block offerings for {query.describe()} in {target.describe()}:")
    run.say(render.block_offerings(found, fits))
    if fits is None:
        run.say("Pass --account to see which clusters of the estate can use each AZ.", style="dim")
    run.say("Buy one with: ml-clusters capacity-blocks purchase OFFERING_ID", style="dim")


@blocks_app.command("purchase", cls=OneLineCommand)
@command
def blocks_purchase(
    offering_id: Annotated[str, typer.Argument(help="Offering id from `search` (cb-... / cbo-...).")],
    cluster: ClusterOpt = None,
    max_price: MaxPriceOpt = None,
    yes: YesOpt = False,
    allow_unusable: AllowUnusableOpt = False,
    dry_run: DryRunOpt = False,
    instance_type: Annotated[Optional[str], typer.Option(
        "--instance-type", "-t", help="Search parameters, when the offering was not found by `search` here.",
        show_default=False)] = None,
    count: SearchCountOpt = None,
    hours: SearchHoursOpt = None,
    start: StartOpt = None,
    end: EndOpt = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Buy a Capacity Block: shows it and its upfront fee, then asks you to type `purchase`."""
    run = Run(output)
    block_hours(hours)
    start_at, end_at = window(start, end)
    remembered = offers.recall("capacity-block", offering_id, now=clock.now())
    if instance_type and count and hours:
        query = blocks.BlockQuery(instance_type, count, hours, start_at, end_at)
    elif remembered is not None:
        query = blocks.BlockQuery.from_json(remembered.query)
    else:
        raise CapacityError(f"offering {offering_id} was not found by a recent `capacity-blocks search` here; run "
                            "search first, or pass the search's --instance-type, --count and --hours; nothing bought")
    acct, region = purchase_place(run, account, region, remembered, offering_id)
    if cluster:  # an unknown or unsuitable --cluster is refused before anything is asked of AWS
        check_cluster(run.estate, cluster, kind="capacity-block", account_key=acct.key, region=region)
    target = target_for(acct, region)

    offering = blocks.find_offering(aws.client("ec2", target), query, offering_id, region=region)
    looked_up_at = monotonic()
    if remembered is not None:
        run.say(f"Checked just now: {offering_id} is still on offer.", style="dim")
    run.say(render.block_offering_summary(offering, target.describe()))
    fits = fits_for(run.estate, account_key=acct.key, region=region, kind="capacity-block",
                    azs=[offering.availability_zone], recorded=run.recorded_outputs(), cluster=cluster)
    show_fits(run, fits, what=f"a Capacity Block in {offering.availability_zone}", scope=f"{acct.key}/{region}",
               cluster=cluster)
    check_price(offering.upfront_fee, offering.currency, decimal(max_price))
    if not dry_run:
        check_usable(fits, cluster=cluster, yes=yes, allow_unusable=allow_unusable)
    record_on, why_not = cluster_for_record(cluster, fits)
    from ml_clusters.capacity.records import purchase_tags

    tags = purchase_tags(cluster=record_on, account_label=acct.key)
    ec2_buy = aws.client("ec2", target, purpose="buy")
    if dry_run:
        aws.verify_account(target, action="purchase")
        blocks.purchase(ec2_buy, offering, tags=tags, dry_run=True, region=region)
        message = "Dry run: EC2 says the purchase would be allowed (DryRunOperation); nothing bought."
        if run.json:
            run.emit({"dry_run": True, "offering": offering.to_json(), "fits": [f.to_json() for f in fits]})
        run.say(message, style="bold")
        return
    offering = confirm_purchase(
        run, offering, word="purchase", question=f"Buy {offering.instance_count} x {offering.instance_type} in "
        f"{offering.availability_zone} for {money(offering.upfront_fee, offering.currency)} (upfront, non-refundable)?",
        yes=yes, interactive=interactive(), looked_up_at=looked_up_at, what=offering_id, target=target,
        action="purchase", lookup=lambda: blocks.find_offering(aws.client("ec2", target), query, offering_id,
                                                               region=region))
    reservation = blocks.purchase(ec2_buy, offering, tags=tags, region=region)
    recorded = record(run, cluster=record_on, why_not=why_not, event="capacity block purchased",
                       capacity_id=reservation.reservation_id, fee=offering.upfront_fee, currency=offering.currency,
                       account_label=acct.key, region=region, via="ml-clusters capacity-blocks purchase",
                       details={"offering_id": offering.offering_id, "availability_zone": offering.availability_zone,
                                "instance_type": offering.instance_type, "instances": offering.instance_count,
                                "start": offering.start, "end": offering.end,
                                "capacity_block_id": reservation.capacity_block_id})
    if run.json:
        run.emit({"purchased": reservation.to_json(), "offering": offering.to_json(),
                  "fits": [f.to_json() for f in fits], "record": recorded})
    run.say(f"Bought {reservation.reservation_id}"
            + (f" (Capacity Block {reservation.capacity_block_id})" if reservation.capacity_block_id else "")
            + f": {reservation.state}, {offering.instance_count} x {offering.instance_type} in "
              f"{reservation.availability_zone or offering.availability_zone}, "
              f"{render.when(offering.start)} → {render.when(offering.end)} UTC, "
              f"{money(offering.upfront_fee, offering.currency)}.", style="bold green")
    run.say(f"Dagster: {recorded}")


@blocks_app.command("list", cls=OneLineCommand)
@command
def blocks_list(
    state: Annotated[Optional[list[str]], typer.Option(
        "--state", help="States to show (repeatable); default payment-pending, scheduled, active.",
        show_default=False)] = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Capacity Blocks: state, AZ, instances total/available, start, end, hours left."""
    run = Run(output)
    acct, region, target = run.place(account, region)
    states = tuple(state) if state else blocks.LISTED_STATES
    found = blocks.list_reservations(aws.client("ec2", target), states=states, region=region)
    now = clock.now()
    if run.json:
        run.emit({"account": acct.key if acct else None, "region": region,
                  "capacity_blocks": [{**r.to_json(), "hours_left": r.hours_left(now)} for r in found]})
        return
    if not found:
        run.say(f"No Capacity Blocks in {target.describe()} ({', '.join(states)}).")
        return
    run.say(f"Capacity Blocks in {target.describe()}:")
    run.say(render.reservations(found, now))


@blocks_app.command("extend", cls=OneLineCommand)
@command
def blocks_extend(
    reservation_id: Annotated[str, typer.Argument(help="Capacity Reservation id of the block (cr-...).")],
    hours: Annotated[int, typer.Option("--hours", min=1, help="Hours to add.")],
    offering_id: Annotated[Optional[str], typer.Option(
        "--offering-id", help="Extension offering to buy when AWS offers several.", show_default=False)] = None,
    cluster: ClusterOpt = None,
    max_price: MaxPriceOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Extend a Capacity Block (describe_capacity_block_extension_offerings, then purchase)."""
    run = Run(output)
    acct, region, target = run.place(account, region)
    if cluster:
        check_cluster(run.estate, cluster, kind="capacity-block", account_key=acct.key if acct else None,
                      region=region)
    ec2 = aws.client("ec2", target)
    reservation = blocks.get_reservation(ec2, reservation_id, region=region)
    if acct is not None:
        blocks.check_owner(reservation, acct.id, acct.key)
    if reservation.state not in ("active", "scheduled"):
        raise CapacityError(f"{reservation_id} is {reservation.state}; only active or scheduled Capacity Blocks "
                            "can be extended; nothing bought")
    offering = blocks.choose_extension(blocks.extension_offerings(ec2, reservation_id, hours, region=region),
                                       reservation_id, hours, offering_id)
    looked_up_at = monotonic()
    run.say(render.extension_summary(offering, reservation, target.describe()))
    check_price(offering.upfront_fee, offering.currency, decimal(max_price))
    ec2_buy = aws.client("ec2", target, purpose="buy")
    if dry_run:
        aws.verify_account(target, action="extend")
        blocks.purchase_extension(ec2_buy, offering, dry_run=True, region=region)
        if run.json:
            run.emit({"dry_run": True, "offering": offering.to_json()})
        run.say("Dry run: EC2 says the extension would be allowed (DryRunOperation); nothing bought.",
                style="bold")
        return
    shown = offering
    offering = confirm_purchase(
        run, shown, word="extend", question=f"Extend {reservation_id} by {offering.duration_hours} h (until "
        f"{render.when(offering.end)} UTC) for {money(offering.upfront_fee, offering.currency)} (upfront, "
        "non-refundable)?", yes=yes, interactive=interactive(), looked_up_at=looked_up_at,
        what=f"the extension of {reservation_id}", target=target, action="extend",
        lookup=lambda: blocks.choose_extension(blocks.extension_offerings(ec2, reservation_id, hours, region=region),
                                               reservation_id, hours, shown.offering_id))
    extension = blocks.purchase_extension(ec2_buy, offering, region=region)
    # Record on the cluster(s) using the block: the block's ml-clusters:unit tag may name the capacity-block
    # unit itself, whose dependents are the clusters (the capacity-expiry sensor maps it the same way).
    owner = cluster or reservation.tags.get(tag_names.UNIT)
    consumers, record_on = extension_record_units(run.estate, owner)
    account_label = acct.key if acct else (reservation.owner_id or "ambient")
    why_not = "" if consumers else (
        f"{owner!r} is neither a cluster of the estate nor a unit clusters depend on" if owner
        else f"no --cluster given and the block has no {tag_names.UNIT} tag")
    # With no cluster to record on, `record(cluster=None)` turns `why_not` into the line people read.
    consumers_or_none: list[str | None] = [*record_on] if consumers else [None, *record_on]
    records = [record(run, cluster=path, why_not=why_not, event="capacity block extended",
                      capacity_id=reservation_id, fee=extension.upfront_fee or offering.upfront_fee,
                      currency=extension.currency or offering.currency, account_label=account_label, region=region,
                      via="ml-clusters capacity-blocks extend",
                      details={"hours": offering.duration_hours, "new_end": extension.end or offering.end,
                               "status": extension.status, "offering_id": offering.offering_id,
                               "availability_zone": offering.availability_zone,
                               "instance_type": offering.instance_type, "instances": offering.instance_count})
               for path in consumers_or_none]
    recorded = "; ".join(records)
    if run.json:
        run.emit({"extension": extension.to_json(), "offering": offering.to_json(), "record": recorded})
    run.say(f"Extended {reservation_id} by {offering.duration_hours} h until {render.when(extension.end or offering.end)}"
            f" UTC ({extension.status or 'status unknown'}), {money(offering.upfront_fee, offering.currency)}.",
            style="bold green")
    run.say(f"Dagster: {recorded}")


@blocks_app.command("auto-extend", cls=OneLineCommand)
@command
def blocks_auto_extend(
    reservation_id: Annotated[str, typer.Argument(help="Capacity Reservation id of the block (cr-...).")],
    hours: Annotated[int, typer.Option("--hours", min=1, help="Hours to add each time.")] = 24,
    max_price: MaxPriceOpt = None,
    lead_hours: Annotated[float, typer.Option("--lead-hours", min=0.5,
                                              help="Extend once this little time is left.")] = 6.0,
    off: Annotated[bool, typer.Option("--off", help="Turn auto-extension off.")] = False,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Turn automatic extension on (requires --max-price) or off for one block; stored as tags on it."""
    run = Run(output)
    if not off and (max_price is None or max_price <= 0):
        usage_error("auto-extension needs a price cap: pass --max-price (the highest upfront fee to pay per "
                    "extension); nothing changed")
    if not off and not (math.isfinite(lead_hours) and lead_hours <= hours):
        usage_error(f"--lead-hours {lead_hours:g} must not exceed --hours {hours}: the block would be due again right "
                    "after each extension and be extended over and over; nothing changed")
    acct, region, target = run.place(account, region)
    ec2 = aws.client("ec2", target)
    blocks.get_reservation(ec2, reservation_id, region=region)
    keys = [TAG_HOURS, TAG_MAX_PRICE, TAG_LEAD_HOURS]
    try:
        if off:
            ec2.delete_tags(Resources=[reservation_id], Tags=[{"Key": k} for k in keys])
            settings = AutoExtendSettings()
        else:  # --max-price was checked above, before anything was asked of AWS
            settings = AutoExtendSettings(enabled=True, hours=hours, max_price=decimal(max_price),
                                          lead_hours=lead_hours)
            ec2.create_tags(Resources=[reservation_id],
                            Tags=[{"Key": k, "Value": v} for k, v in settings.to_tags().items()])
    except ClientError as exc:
        raise explain(exc, action="create_tags" if not off else "delete_tags", region=region) from None
    document = {"reservation_id": reservation_id, "auto_extend": settings.model_dump(mode="json")}
    if run.json:
        run.emit(document)
        return
    if off:
        run.say(f"Auto-extension is off for {reservation_id}.")
    else:
        run.say(f"Auto-extension is on for {reservation_id}: +{settings.hours} h when less than "
                f"{settings.lead_hours:g} h are left, at most {money(settings.max_price, None)} per extension "
                "(the capacity-expiry sensor requests the extend_capacity_block job).")


@blocks_app.command("fit", cls=OneLineCommand)
@command
def blocks_fit(
    reservation_id: Annotated[str, typer.Argument(help="Capacity Reservation id (cr-...).")],
    cluster: ClusterOpt = None,
    account: AccountOpt = None,
    region: RegionOpt = None,
    output: OutputOpt = Output.table,
) -> None:
    """Which clusters of the estate can use this block's AZ."""
    run = Run(output)
    acct, region, target = run.place(account, region)
    reservation = blocks.get_reservation(aws.client("ec2", target), reservation_id, region=region)
    acct = acct or run.account_by_id(reservation.owner_id)
    if acct is None and not cluster:
        raise CapacityError(f"{reservation_id} belongs to account {reservation.owner_id}, which is not in the estate; "
                            "pass --cluster to check one cluster")
    fit_report(run, acct, region=region, kind="capacity-block", azs=[reservation.availability_zone], cluster=cluster,
               what=f"{reservation_id} ({reservation.availability_zone})")
