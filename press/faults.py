"""Named points where a test can kill this process for real, to prove a guarantee.

``PRESS_KILL_AT=digest:frozen`` makes the process SIGKILL itself the first time it
reaches that point (``digest:frozen@3``: the third time). Unset, a point costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

VARIABLE = "PRESS_KILL_AT"
_reached: Counter[str] = Counter()


def reached(point: str) -> None:
    """Die here if ``PRESS_KILL_AT`` names this point (and this is its time)."""
    wanted = os.environ.get(VARIABLE)
    if not wanted:
        return
    name, _, times = wanted.partition("@")
    if name != point:
        return
    _reached[point] += 1
    if _reached[point] >= int(times or 1):
        os.kill(os.getpid(), signal.SIGKILL)
