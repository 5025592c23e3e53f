"""The rules every purchase passes before money is spent.

1. The price must be known, and at or under --max-price when one is given.
2. Without --yes, a person at a terminal must type the confirmation word; with no terminal (CI, a pipe)
   the purchase is refused — automation says --yes explicitly.
Anything unclear (no price, no answer, end of input) means: nothing is bought.
"""

from __future__ import annotations

from decimal import Decimal
import time
from typing import Callable, TypeVar

from ml_clusters.capacity.errors import CapacityError
from ml_clusters.capacity.models import money


class Declined(CapacityError):
    """The person at the terminal did not confirm."""


def check_price(fee: Decimal | None, currency: str | None, max_price: Decimal | None, *,
                cap_name: str = "--max-price") -> None:
    if fee is None:
        raise CapacityError("the offering has no readable upfront fee; refusing to buy at an unknown price; "
                            "nothing bought")
    if max_price is not None and fee > max_price:
        raise CapacityError(f"refused: upfront fee {money(fee, currency)} is above {cap_name} "
                            f"{money(max_price, currency)}; nothing bought")


def confirm(*, word: str, question: str, yes: bool, interactive: bool, ask: Callable[[str], str]) -> None:
    """Return when the purchase may go ahead; raise otherwise."""
    if yes:
        return
    if not interactive:
        raise CapacityError("refusing to buy without a terminal to confirm on; pass --yes to buy non-interactively "
                            "(and --max-price to cap the fee); nothing bought")
    try:
        answer = ask(f"{question}\nType [bold]{word}[/bold] to confirm (anything else cancels): ")
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip() != word:
        raise Declined("cancelled at the confirmation prompt; nothing bought")


# A confirmation answered later than this after the offering was looked up is followed by a second lookup:
# offerings expire and prices move while a prompt sits open (PurchaseCapacityBlock / CreateTrainingPlan take
# no price, so whatever the offering costs *now* is what is charged).
STALE_AFTER_SECONDS = 60.0

T = TypeVar("T")


def monotonic() -> float:
    return time.monotonic()


def recheck_if_stale(shown: T, looked_up_at: float, lookup: Callable[[], T], *, what: str) -> T:
    """The offering to buy: `shown` when the prompt was answered promptly; else a fresh lookup, refused when
    its upfront fee differs from the one the person confirmed (`lookup` raises when it is gone)."""
    if monotonic() - looked_up_at < STALE_AFTER_SECONDS:
        return shown
    fresh = lookup()
    if fresh.upfront_fee != shown.upfront_fee or fresh.currency != shown.currency:
        raise CapacityError(f"the upfront fee of {what} changed from {money(shown.upfront_fee, shown.currency)} to "
                            f"{money(fresh.upfront_fee, fresh.currency)} while the confirmation was open; "
                            "nothing bought — run the command again")
    return fresh
