"""The one clock. Only this module reads the time; everything else is handed ``now`` (the
time of day, aware, UTC) or ``ticks`` (seconds for intervals, monotonic) by its caller,
so tests can set both."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    """The time of day, in UTC."""
    return datetime.now(UTC)


def ticks() -> float:
    """Seconds from an arbitrary start that never goes back: for waits and rates."""
    return time.monotonic()
