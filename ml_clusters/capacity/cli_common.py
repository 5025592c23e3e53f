"""What the `capacity-blocks` and `training-plans` commands share: options, the per-invocation `Run`,
one-line failures, the AZ-fit warning and recording purchases in Dagster."""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Callable, Optional, Sequence, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel

from ml_clusters.capacity import aws, clock, render
from ml_clusters.capacity.accounts import resolve_account, target_for
from ml_clusters.capacity.aws import Target
from ml_clusters.cli_usage import usage_error
from ml_clusters.capacity.errors import AWS_ERRORS, CapacityError, explain
from ml_clusters.capacity.fit import Fit, fits_for, recorded_outputs_lookup, usable_clusters
from ml_clusters.capacity.guard import confirm, recheck_if_stale
from ml_clusters.estate.model import Account, Estate, EstateError


T = TypeVar("T")


class Output(str, Enum):
    table = "table"
    json = "json"


ACCOUNT_ENV = "ML_CLUSTERS_ACCOUNT"

AccountOpt = Annotated[Optional[str], typer.Option(
    "--account", "-a", help="Estate account to act in: name or key from account.hcl (main, main-account) or id; "
                            f"default ${ACCOUNT_ENV}, else your own credentials' account.", show_default=False)]
RegionOpt = Annotated[Optional[str], typer.Option(
    "--region", "-r", help="AWS Region; default: the searched offering's, else $AWS_REGION / $AWS_DEFAULT_REGION.",
    show_default=False)]
OutputOpt = Annotated[Output, typer.Option("--output", "-o", help="table for people, json for scripts.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Buy without the typed confirmation (automation).")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Check everything, buy nothing.")]
AllowUnusableOpt = Annotated[bool, typer.Option(
    "--allow-unusable", help="With --yes: buy even though no cluster of the estate (or not the --cluster named) "
                             "is known to have subnets in the capacity's AZ.")]
def _finite_price(value: float | None) -> float | None:
    # click's FloatRange lets `nan` and `inf` through; neither is a price cap.
    if value is not None and not math.isfinite(value):
        usage_error(f"--max-price {value}: not a price; give a number such as 45000")
    return value


MaxPriceOpt = Annotated[Optional[float], typer.Option(
    "--max-price", min=0, help="Refuse when the upfront fee is above this (in the offering's currency).",
    show_default=False, callback=_finite_price)]
ClusterOpt = Annotated[Optional[str], typer.Option(
    "--cluster", help="Unit path of the cluster the capacity is for (e.g. main-account/us-east-1/parallelcluster): "
                      "checked for AZ fit, tagged, and the purchase recorded on its asset.", show_default=False)]
StartOpt = Annotated[Optional[str], typer.Option(
    "--start", help="Earliest start: ISO date/time (2026-03-01, 2026-03-01T08:00Z) or +3d / +12h.",
    show_default=False)]
EndOpt = Annotated[Optional[str], typer.Option("--end", help="Latest end: ISO date/time or +14d.", show_default=False)]
# `purchase`'s repeat of the search parameters, for an offering not found by `search` here.
SearchCountOpt = Annotated[Optional[int], typer.Option("--count", "-n", min=1, show_default=False)]
SearchHoursOpt = Annotated[Optional[int], typer.Option("--hours", min=1, show_default=False)]


# ---------------------------------------------------------------------------------------------- plumbing


def command(fn: Callable) -> Callable:
    """Run a command body; any failure becomes one line on stderr and exit code 1 — never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except (CapacityError, EstateError) as exc:
            fail(str(exc))
        except AWS_ERRORS as exc:
            fail(str(explain(exc, action=fn.__name__.replace("_", " "))))
        except KeyboardInterrupt:
            fail("interrupted; nothing bought unless a purchase was already confirmed — check `list`")
        except Exception as exc:  # noqa: BLE001 — the contract is one line, never a traceback
            if os.environ.get("ML_CLUSTERS_DEBUG"):
                raise
            fail(f"unexpected {type(exc).__name__}: {' '.join(str(exc).split())} (ML_CLUSTERS_DEBUG=1 for details)")

    return wrapper


def fail(message: str) -> None:
    print(f"error: {' '.join(message.split())}", file=sys.stderr, flush=True)
    raise typer.Exit(1)


class Run:
    """What one command invocation works with: consoles, the estate (loaded on demand), account, Region."""

    def __init__(self, output: Output):
        self.json = output is Output.json
        # People read tables on stdout; with --output json, stdout is only the JSON document and
        # everything meant for people (summaries, warnings, the prompt) goes to stderr.
        self.console = Console(stderr=self.json, highlight=False)
        self._estate: Estate | None = None

    @property
    def estate(self) -> Estate:
        if self._estate is None:
            from ml_clusters.estate import default_live_dir, load_estate

            self._estate = load_estate(default_live_dir())
        return self._estate

    def account(self, name: str | None) -> Account | None:
        name = name or os.environ.get(ACCOUNT_ENV) or None
        return resolve_account(self.estate, name) if name else None

    def place(self, account: str | None, region: str | None) -> tuple[Account | None, str, Target]:
        """The estate account (None: ambient credentials), the Region, and the Target to act in."""
        acct = self.account(account)
        region = self.region(region)
        return acct, region, target_for(acct, region)

    def account_by_id(self, account_id: str | None) -> Account | None:
        if not account_id:
            return None
        return next((a for a in self.estate.accounts.values() if a.id == account_id), None)

    @staticmethod
    def region(explicit: str | None, remembered: str | None = None) -> str:
        region = explicit or remembered or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise CapacityError("no AWS Region: pass --region or set AWS_REGION")
        return region

    def recorded_outputs(self):
        """Outputs recorded at units' last materialization, when a Dagster instance is configured."""
        if not os.environ.get("DAGSTER_HOME"):
            return None
        try:
            import dagster as dg

            from ml_clusters.translator import TerragruntTranslator

            instance = dg.DagsterInstance.get()
        except Exception:  # noqa: BLE001 — no instance: the estate's static inputs still answer
            return None
        translator = TerragruntTranslator()
        return recorded_outputs_lookup(instance, lambda path: translator.get_asset_key(self.estate.unit(path)))

    def say(self, message: Any = "", **kwargs) -> None:
        self.console.print(message, **kwargs)

    def warn(self, message: str) -> None:
        self.console.print(Panel(message, title="WARNING", border_style="bold red", expand=False), style="bold red")

    def emit(self, document: Any) -> None:
        print(json.dumps(document, indent=2, default=str))

    def ask(self, question: str) -> str:
        return self.console.input(question)


def parse_when(text: str | None, option: str) -> datetime | None:
    if not text:
        return None
    value = text.strip()
    now = clock.now()
    if value == "now":
        return now
    if m := re.fullmatch(r"\+(\d+)([hdw])", value):
        unit = {"h": "hours", "d": "days", "w": "weeks"}[m.group(2)]
        return now + timedelta(**{unit: int(m.group(1))})
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        usage_error(f"{option}: cannot read {text!r}; use an ISO date/time (2026-03-01, 2026-03-01T08:00Z) "
                    "or +3d / +12h")
    from ml_clusters.capacity.models import utc

    return utc(parsed)


def window(start: str | None, end: str | None, *, start_opt: str = "--start",
           end_opt: str = "--end") -> tuple[datetime | None, datetime | None]:
    """The search window, checked before anything is asked of AWS: not in the past, and ending after it starts."""
    start_at, end_at = parse_when(start, start_opt), parse_when(end, end_opt)
    now = clock.now()
    if start_at is not None and start_at < now - timedelta(minutes=1):
        usage_error(f"{start_opt} {start} is in the past (now is {now:%Y-%m-%d %H:%M} UTC)")
    if end_at is not None and end_at <= now:
        usage_error(f"{end_opt} {end} is in the past (now is {now:%Y-%m-%d %H:%M} UTC)")
    if start_at is not None and end_at is not None and end_at <= start_at:
        usage_error(f"{end_opt} {end} is not after {start_opt} {start}")
    return start_at, end_at


# EC2 Capacity Block durations (AWS EC2 User Guide, "Capacity Blocks for ML"; research report §7 gives the
# 1-182 day range): whole days from 1 to 14 days, then whole weeks up to 26 weeks (182 days).
BLOCK_DAYS = tuple(range(1, 15)) + tuple(range(21, 183, 7))


def block_hours(hours: int | None, option: str = "--hours") -> int | None:
    if hours is None or (hours % 24 == 0 and hours // 24 in BLOCK_DAYS):
        return hours
    usage_error(f"{option} {hours} is not a Capacity Block duration: 24-336 h in steps of 24 h (1-14 days), or "
                "504-4368 h in steps of 168 h (3-26 weeks)")


def decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def cluster_for_record(cluster: str | None, fits: Sequence[Fit]) -> tuple[str | None, str]:
    """The cluster a purchase is recorded on: the one named, else the only one that can use it."""
    if cluster:
        return cluster, ""
    usable = usable_clusters(fits)
    if len(usable) == 1:
        return usable[0], ""
    if usable:
        return None, f"several clusters can use it ({', '.join(usable)}); pass --cluster to record it on one"
    return None, "no cluster of the estate can use it"


def record(run: Run, *, cluster: str | None, why_not: str, **observation_args) -> str:
    """Record a purchase that already happened. Never raises: a failed record must not turn a successful
    purchase into an error exit (automation would retry it and buy twice)."""
    if cluster is None:
        return f"not recorded on a cluster asset: {why_not}"
    try:
        from ml_clusters.capacity.records import observation, report_to_instance
        from ml_clusters.translator import TerragruntTranslator

        unit = run.estate.unit(cluster)
        return report_to_instance(observation(asset_key=TerragruntTranslator().get_asset_key(unit),
                                              **observation_args))
    except Exception as exc:  # noqa: BLE001
        return f"NOT recorded in Dagster ({type(exc).__name__}: {' '.join(str(exc).split())})"


def show_fits(run: Run, fits: Sequence[Fit], *, what: str, scope: str, cluster: str | None) -> None:
    """Print the AZ fit and warn loudly when the capacity would be of no use."""
    if fits:
        run.say(render.fits_table(fits))
    if cluster:
        bad = [f for f in fits if f.fits is False]
        if bad:
            run.warn(f"{cluster} cannot use {what}: the cluster's subnets are in {', '.join(bad[0].cluster_azs)} "
                     f"({bad[0].source}).")
        return
    if not usable_clusters(fits):
        if not fits:
            reason = f"there is no cluster in {scope} that takes this kind of capacity"
        elif all(f.fits is None for f in fits):
            reason = "the AZs of " + ", ".join(sorted({f.cluster for f in fits})) + " are unknown"
        else:
            names = ", ".join(sorted({render.short(f.cluster) for f in fits}))
            reason = f"none of the clusters in {scope} ({names}) has subnets in " + ", ".join(
                sorted({f.az for f in fits}))
        run.warn(f"No cluster of the estate can use {what}: {reason}. Capacity bought in the wrong AZ is paid for "
                 "and cannot be used.")


def unusable(fits: Sequence[Fit], cluster: str | None) -> bool:
    """True unless the named cluster (or, with none named, some cluster of the estate) is known to fit."""
    if cluster:
        return not fits or any(f.fits is not True for f in fits)
    return not usable_clusters(fits)


def check_usable(fits: Sequence[Fit], *, cluster: str | None, yes: bool, allow_unusable: bool) -> None:
    """`--yes` alone never buys capacity no cluster can use: automation must say --allow-unusable as well.
    At the prompt the loud warning (show_fits) is the person's cue; they decide by typing the word."""
    if yes and not allow_unusable and unusable(fits, cluster):
        who = f"{cluster} is not known to have subnets in its AZ" if cluster else \
            "no cluster of the estate is known to have subnets in its AZ"
        raise CapacityError(f"refused: {who}; pass --allow-unusable with --yes to buy it anyway; nothing bought")


def purchase_account(run: Run, explicit: str | None, remembered: str | None, offering_id: str) -> Account:
    explicit = explicit or None
    acct = run.account(explicit) if explicit else (run.account(remembered) if remembered else run.account(None))
    if acct is None:
        raise CapacityError("buying needs --account (e.g. main): capacity is bought in one account and AZ names "
                            "differ between accounts; nothing bought")
    if remembered and explicit and acct.key != remembered:
        raise CapacityError(f"offering {offering_id} was found in account {remembered}, not {acct.key}; "
                            "search again in that account; nothing bought")
    return acct


def purchase_place(run: Run, account: str | None, region: str | None, remembered: Any,
                   offering_id: str) -> tuple[Account, str]:
    """The account and Region to buy in: the ones given, checked against where `search` found the offering."""
    acct = purchase_account(run, account, remembered.account if remembered else None, offering_id)
    return acct, purchase_region(region, remembered.region if remembered else None, offering_id)


def confirm_purchase(run: Run, shown: T, *, word: str, question: str, yes: bool, interactive: bool,
                     looked_up_at: float, lookup: Callable[[], T], what: str, target: Target, action: str) -> T:
    """The steps before money is spent: the typed confirmation (or --yes), a fresh look at the offering when the
    prompt stayed open long (refused if its fee changed), then the account check. Returns the offering to buy."""
    confirm(word=word, question=question, yes=yes, interactive=interactive, ask=run.ask)
    offering = recheck_if_stale(shown, looked_up_at, lookup, what=what)
    aws.verify_account(target, action=action)  # the last check before money is spent
    return offering


def purchase_region(explicit: str | None, remembered: str | None, offering_id: str) -> str:
    if remembered and explicit and explicit != remembered:
        raise CapacityError(f"offering {offering_id} was found in {remembered}, not {explicit}; search again "
                            "in that Region; nothing bought")
    return Run.region(explicit, remembered)


def fit_report(run: Run, acct: Account | None, *, region: str, kind: str, azs: Sequence[str], cluster: str | None,
               what: str) -> None:
    """The `fit` commands: which clusters (or the --cluster named) can use capacity in `azs`; exit 3 when none."""
    fits = fits_for(run.estate, account_key=acct.key if acct else "", region=region, kind=kind, azs=azs,
                    recorded=run.recorded_outputs(), cluster=cluster)
    usable = usable_clusters(fits)
    if run.json:
        run.emit({"capacity": what, "usable_by": usable, "fits": [f.to_json() for f in fits]})
    else:
        run.say(render.fits_table(fits))
        run.say(f"{what}: usable by {', '.join(usable)}" if usable else f"{what}: no cluster of the estate can use it",
                style="bold green" if usable else "bold red")
    if not usable:
        raise typer.Exit(3)  # scripts can gate on "no cluster can use it"
