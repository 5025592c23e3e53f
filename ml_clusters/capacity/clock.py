"""The current time, in one place (hours-left figures and remembered offerings depend on it)."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)
