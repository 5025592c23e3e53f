"""Rich tables for the capacity commands (the JSON output is the records' `to_json`)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping, Sequence

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ml_clusters.capacity.fit import Fit, usable_clusters
from ml_clusters.capacity.tags import UNIT
from ml_clusters.capacity.models import (
    BlockOffering,
    ExtensionOffering,
    PlanOffering,
    Reservation,
    TrainingPlan,
    hours_between,
    money,
)


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def num(value: object) -> str:
    return "-" if value is None else str(value)


def short(cluster: str) -> str:
    """`main-account/us-east-1/eks-training` → `eks-training` (the table already names account and Region)."""
    return cluster.rsplit("/", 1)[-1]


def usable_text(fits: Sequence[Fit] | None) -> Text:
    if fits is None:
        return Text("?", style="dim")
    usable = [short(c) for c in usable_clusters(fits)]  # a split plan must fit in every one of its AZs
    if usable:
        return Text(", ".join(usable), style="green")
    if fits and all(f.fits is None for f in fits):
        return Text("unknown", style="yellow")
    return Text("none", style="bold red")


def _table(title: str | None = None) -> Table:
    return Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)


# (header, justify, keep): keep=True — never narrower than the longest cell (ids people copy, numbers);
# keep=<int> — at least that wide (dates wrap at the space, never inside the day); False — wraps freely.
Col = tuple
DATE = 10


def _plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _build(columns: Sequence[Col], rows: Sequence[Sequence[object]], *, title: str | None = None,
           section_ends: Sequence[bool] | None = None) -> Table:
    """A table that wraps descriptive columns on narrow terminals instead of cutting ids short."""
    table = _table(title)
    for i, (header, justify, keep) in enumerate(columns):
        if keep is True:
            width = max([len(header), *(len(_plain(row[i])) for row in rows)])
        else:
            width = keep or None
        table.add_column(header, justify=justify, no_wrap=keep is True, min_width=width, overflow="fold")
    for n, row in enumerate(rows):
        table.add_row(*[c if isinstance(c, Text) else str(c) for c in row],
                      end_section=bool(section_ends and section_ends[n]))
    return table


def block_offerings(offerings: Iterable[BlockOffering], fits: Mapping[str, Sequence[Fit]] | None) -> Table:
    columns: list[Col] = [("Offering", "left", True), ("AZ", "left", True), ("Instances", "left", True),
                          ("Start (UTC)", "left", DATE), ("End (UTC)", "left", DATE), ("Hours", "right", True),
                          ("Upfront fee", "right", True)]
    if fits is not None:
        columns.append(("Usable by", "left", False))
    rows = []
    for o in offerings:
        row: list[object] = [o.offering_id, o.availability_zone, f"{o.instance_count} x {o.instance_type}",
                             when(o.start), when(o.end), num(o.duration_hours), money(o.upfront_fee, o.currency)]
        if fits is not None:
            row.append(usable_text(fits.get(o.offering_id)))
        rows.append(row)
    return _build(columns, rows)


def summary(rows: Sequence[tuple[str, object]], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left", pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for key, value in rows:
        table.add_row(key, value if isinstance(value, Text) else str(value))
    return table


def block_offering_summary(o: BlockOffering, target: str) -> Table:
    return summary([
        ("Offering", o.offering_id),
        ("Account / Region", target),
        ("Availability Zone", o.availability_zone),
        ("Instances", f"{o.instance_count} x {o.instance_type}"),
        ("Start (UTC)", when(o.start)),
        ("End (UTC)", when(o.end)),
        ("Duration", f"{num(o.duration_hours)} h"),
        ("Upfront fee", Text(money(o.upfront_fee, o.currency), style="bold")),
    ], "Capacity Block to buy")


def extension_summary(o: ExtensionOffering, reservation: Reservation, target: str) -> Table:
    return summary([
        ("Reservation", o.reservation_id),
        ("Account / Region", target),
        ("Availability Zone", o.availability_zone),
        ("Instances", f"{o.instance_count} x {o.instance_type}"),
        ("Current end (UTC)", when(reservation.end)),
        ("New end (UTC)", when(o.end)),
        ("Extension", f"+{num(o.duration_hours)} h"),
        ("Extension offering", o.offering_id),
        ("Upfront fee", Text(money(o.upfront_fee, o.currency), style="bold")),
    ], "Capacity Block extension to buy")


def reservations(items: Iterable[Reservation], now: datetime) -> Table:
    """One row per block (its Capacity Block id is in the JSON output)."""
    columns: list[Col] = [("Reservation", "left", True), ("State", "left", True), ("AZ", "left", True),
                          ("Instance type", "left", True), ("Available / total", "right", True),
                          ("Start (UTC)", "left", DATE), ("End (UTC)", "left", DATE), ("Hours left", "right", True),
                          ("Cluster", "left", False)]
    styles = {"active": "green", "scheduled": "cyan", "payment-pending": "yellow"}
    rows = [[r.reservation_id, Text(r.state, style=styles.get(r.state, "red")), r.availability_zone,
             r.instance_type, f"{num(r.available_instances)} / {num(r.total_instances)}", when(r.start), when(r.end),
             num(r.hours_left(now)), short(r.tags[UNIT]) if r.tags.get(UNIT) else "-"] for r in items]
    return _build(columns, rows)


def plan_offerings(offerings: Iterable[PlanOffering], fits: Mapping[str, Sequence[Fit]] | None) -> Group:
    """A small table per offering (its id is long and people copy it), one row per reserved block: an
    offering split into several blocks shows each block with its AZ and time window."""
    parts = []
    for o in offerings:
        n = len(o.segments)
        title = f"{o.offering_id}  {money(o.upfront_fee, o.currency)}  " + (
            f"split into {n} blocks" if n > 1 else "1 block")
        if fits is not None:
            title += f"  usable by: {usable_text(fits.get(o.offering_id)).plain}"
        rows = []
        for i, s in enumerate(o.segments, start=1):
            hours = s.duration_hours if s.duration_hours is not None else hours_between(s.start, s.end)
            rows.append([f"{i}/{n}", s.availability_zone or "-", f"{s.instance_count} x {s.instance_type}",
                         when(s.start), when(s.end), num(hours)])
        parts.append(Text(title, style="bold"))
        parts.append(_build([("Block", "left", True), ("AZ", "left", True), ("Instances", "left", True),
                             ("Start (UTC)", "left", DATE), ("End (UTC)", "left", DATE), ("Hours", "right", True)],
                            rows))
    return Group(*parts)


def plan_offering_summary(o: PlanOffering, target: str, name: str) -> Table:
    rows: list[tuple[str, object]] = [
        ("Offering", o.offering_id),
        ("Plan name", name),
        ("Account / Region", target),
        ("Target", ", ".join(o.target_resources)),
        ("Duration", f"{num(o.duration_hours)} h"),
    ]
    for i, s in enumerate(o.segments, start=1):
        rows.append((f"Block {i}/{len(o.segments)}", f"{s.instance_count} x {s.instance_type} in "
                                                     f"{s.availability_zone or '?'}, {when(s.start)} → {when(s.end)}"))
    rows.append(("Upfront fee", Text(money(o.upfront_fee, o.currency), style="bold")))
    return summary(rows, "Training plan to buy")


def plans(items: Iterable[TrainingPlan]) -> Table:
    """Status and instance counts per plan (its fee and reserved blocks are in `describe`)."""
    columns: list[Col] = [("Plan", "left", True), ("Status", "left", True), ("Instance type", "left", True),
                          ("AZs", "left", False), ("Total", "right", True), ("Available", "right", True),
                          ("In use", "right", True), ("Unhealthy", "right", True), ("Start (UTC)", "left", DATE),
                          ("End (UTC)", "left", DATE)]
    styles = {"Active": "green", "Scheduled": "cyan", "Pending": "yellow", "Expired": "dim"}
    rows = [[p.name, Text(p.status, style=styles.get(p.status, "red")), ", ".join(p.instance_types) or "-",
             ", ".join(p.availability_zones) or "-", num(p.total_instances), num(p.available_instances),
             num(p.in_use_instances), Text(num(p.unhealthy_instances), style="bold red" if p.unhealthy_instances else ""),
             when(p.start), when(p.end)] for p in items]
    return _build(columns, rows)


def plan_detail(p: TrainingPlan) -> tuple[Table, Table]:
    head = summary([
        ("Plan", p.name),
        ("ARN", p.arn),
        ("Status", p.status + (f" — {p.status_message}" if p.status_message else "")),
        ("Target", ", ".join(p.target_resources) or "-"),
        ("Start / End (UTC)", f"{when(p.start)} → {when(p.end)}"),
        ("Instances", f"total {num(p.total_instances)}, available {num(p.available_instances)}, "
                      f"in use {num(p.in_use_instances)}, unhealthy {num(p.unhealthy_instances)}"),
        ("Upfront fee", money(p.upfront_fee, p.currency)),
    ], "Training plan")
    rows = []
    for i, s in enumerate(p.segments, start=1):
        hours = s.duration_hours if s.duration_hours is not None else hours_between(s.start, s.end)
        rows.append([f"{i}/{len(p.segments)}", s.status or "-", s.availability_zone or "-",
                     f"{s.instance_count} x {s.instance_type}", when(s.start), when(s.end), num(hours)])
    blocks = _build([("Block", "left", True), ("Status", "left", True), ("AZ", "left", True),
                     ("Instances", "left", True), ("Start (UTC)", "left", DATE), ("End (UTC)", "left", DATE),
                     ("Hours", "right", True)], rows, title="Reserved capacity")
    return head, blocks


def fits_table(fits: Sequence[Fit]) -> Table:
    rows = [[f.cluster, f.az, Text("unknown", style="yellow") if f.fits is None else (
        Text("yes", style="green") if f.fits else Text("NO", style="bold red")),
        ", ".join(f.cluster_azs) or "-", f.source] for f in fits]
    return _build([("Cluster", "left", True), ("Capacity AZ", "left", True), ("Fits", "left", True),
                   ("Cluster AZs", "left", False), ("From", "left", False)], rows, title="AZ fit")
