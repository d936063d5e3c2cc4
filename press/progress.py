"""Progress of long work as a person watching it would want it: on a terminal, a bar with
the count, the rate and the time left; elsewhere (systemd, cron, CI) a line every few
seconds, never a bar."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import Any

import click

from feeds.counts import counted
from press.clock import ticks

EVERY = 5.0  # seconds between two lines when not on a terminal
Meter = Callable[[str, str], "Progress"]  # (label, unit): the progress of one stage of work


def unwatched(label: str, unit: str) -> Progress:
    """A ``Meter`` for work nobody watches: its progress shows nowhere."""
    return Progress(label, unit, tty=False, echo=lambda line: None, after=math.inf)


class Progress:
    """``update(done, total)`` as the work goes; ``close()`` at the end (a context
    manager does it). The clock starts at the first update (what comes before it, such
    as listing the work, is not counted in the rate); nothing shows for work that ends
    within ``after`` seconds of it."""

    def __init__(
        self,
        label: str,
        unit: str,
        *,
        tty: bool | None = None,
        echo: Callable[[str], None] = lambda line: click.echo(line, err=True),
        clock: Callable[[], float] = ticks,
        after: float = 1.0,
    ) -> None:
        self.label, self.unit, self.echo, self.clock, self.after = label, unit, echo, clock, after
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.started = self.last_line = 0.0
        self.bar: Any = None
        self.done = 0

    def rate(self) -> float:
        seconds = self.clock() - self.started
        return self.done / seconds if seconds > 0 else 0.0

    def update(self, done: int, total: int) -> None:
        now = self.clock()
        if not self.started:
            self.started = self.last_line = now
        self.done = done
        if now - self.started < self.after:  # short work shows nothing
            return
        if self.tty:
            if self.bar is None:
                self.bar = click.progressbar(
                    length=max(total, 1), label=self.label, show_eta=True,
                    item_show_func=lambda _: f"{self.done:,}/{total:,}  {self.rate():,.0f}/s",
                    file=sys.stderr,
                )  # fmt: skip
                self.bar.__enter__()
            self.bar.update(done - self.bar.pos, current_item=done)
        elif now - self.last_line >= EVERY or done >= total:
            self.last_line = now
            self.echo(
                f"{self.label}: {done:,} of {counted(total, self.unit)} ({self.rate():,.0f}/s)"
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
