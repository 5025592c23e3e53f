"""Purchases and extensions as asset observations on the cluster that uses the capacity.

The CLI reports them to the Dagster instance of $DAGSTER_HOME (runless events); the
`extend_capacity_block` job logs them from inside its run. Either way they appear in the cluster
asset's event history, and the fee is numeric so the UI can plot spend over time.
"""

from __future__ import annotations

import getpass
import os
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

import dagster as dg

from ml_clusters.capacity import tags as tag_names
from ml_clusters.capacity.models import iso_utc, money


def purchase_tags(*, cluster: str | None, account_label: str | None) -> dict[str, str]:
    """Tags stamped on what ml-clusters buys, so the expiry sensor can map capacity back to its cluster."""
    tags = {tag_names.PURCHASED_BY: f"ml-clusters ({_who()})"}
    if cluster:
        tags[tag_names.UNIT] = cluster
    if account_label:
        tags[tag_names.ACCOUNT] = account_label
    return tags


def _who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 — no login name in some containers
        return "unknown"


def observation(*, asset_key: dg.AssetKey, event: str, capacity_id: str, fee: Decimal | None,
                currency: str | None, account_label: str | None, region: str, via: str,
                details: Mapping[str, Any]) -> dg.AssetObservation:
    """`event` e.g. "capacity block purchased"; `details` are extra JSON-safe fields (AZ, dates, ...)."""
    metadata: dict[str, Any] = {
        "capacity/event": event,
        "capacity/id": capacity_id,
        "capacity/account": account_label or "ambient",
        "capacity/region": region,
        "capacity/via": via,
        "capacity/by": _who(),
        "capacity/currency": currency or "",
    }
    if fee is not None:
        metadata["capacity/upfront_fee"] = dg.MetadataValue.float(float(fee))
    for key, value in details.items():
        if value is not None:
            metadata[f"capacity/{key}"] = (
                iso_utc(value) if isinstance(value, datetime)
                else value if isinstance(value, (str, int, float, bool)) else str(value)
            )
    return dg.AssetObservation(
        asset_key=asset_key,
        description=f"{event}: {capacity_id} ({money(fee, currency)}) via {via}",
        metadata=metadata,
    )


def report_to_instance(obs: dg.AssetObservation) -> str:
    """Record a runless observation in $DAGSTER_HOME's instance; return a sentence saying what happened."""
    if not os.environ.get("DAGSTER_HOME"):
        return ("not recorded in Dagster: DAGSTER_HOME is not set (set it to the instance directory to record "
                "purchases on the cluster asset)")
    try:
        with dg.DagsterInstance.get() as instance:
            instance.report_runless_asset_event(obs)
    except Exception as exc:  # noqa: BLE001 — the purchase stands even when the record fails; say so
        return f"NOT recorded in Dagster ({type(exc).__name__}: {' '.join(str(exc).split())})"
    return f"recorded as an observation on {obs.asset_key.to_user_string()}"
