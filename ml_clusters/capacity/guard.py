"""The rules every purchase passes before money is spent.

1. The price must be known, and at or under --max-price when one is given.
2. Without --yes, a person at a terminal must type the confirmation word; with no terminal (CI, a pipe)
   the purchase is refused — automation says --yes explicitly.
Anything unclear (no price, no answer, end of input) means: nothing is bought.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable

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
