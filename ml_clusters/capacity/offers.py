"""Offerings remembered between `search` and `purchase`.

AWS cannot describe a single offering by id, so `purchase OFFERING_ID` needs the search that found it
to look it up again (fresh price, still on offer) right before buying. `search` writes each offering's
query, account and Region here; `purchase` reads them. Entries older than a day are dropped — offerings
do not live that long.

File: $ML_CLUSTERS_CACHE_DIR/capacity-offerings.json (default ~/.cache/ml-clusters/).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

MAX_AGE = timedelta(days=1)


def cache_file() -> Path:
    base = os.environ.get("ML_CLUSTERS_CACHE_DIR")
    if base:
        root = Path(base).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ml-clusters"
    return root / "capacity-offerings.json"


@dataclass(frozen=True)
class Remembered:
    kind: str  # "capacity-block" | "training-plan"
    offering_id: str
    account: str | None  # estate account key, None for ambient credentials
    region: str
    query: Mapping[str, Any]
    searched_at: datetime


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(kind: str, offering_ids: list[str], *, account: str | None, region: str, query: Mapping[str, Any],
             now: datetime) -> None:
    """Record what a search found. A cache that cannot be written only costs the convenience."""
    path = cache_file()
    data = {k: v for k, v in _load(path).items() if _fresh(v, now)}
    for offering_id in offering_ids:
        data[offering_id] = {"kind": kind, "account": account, "region": region, "query": dict(query),
                             "searched_at": now.isoformat()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            json.dump(data, tmp, indent=1, sort_keys=True)
        os.replace(tmp.name, path)
    except OSError:
        pass


def _fresh(entry: Any, now: datetime) -> bool:
    try:
        return now - datetime.fromisoformat(entry["searched_at"]) < MAX_AGE
    except (KeyError, TypeError, ValueError):
        return False


def recall(kind: str, offering_id: str, *, now: datetime) -> Remembered | None:
    entry = _load(cache_file()).get(offering_id)
    if not entry or entry.get("kind") != kind or not _fresh(entry, now):
        return None
    return Remembered(kind=kind, offering_id=offering_id, account=entry.get("account"), region=entry["region"],
                      query=entry["query"], searched_at=datetime.fromisoformat(entry["searched_at"]))
