"""Progress as a person sees it: nothing for short work; off a terminal, a line every few
seconds with the count and rate (never a bar); on one, click's bar."""

from __future__ import annotations

import pytest

from press.progress import EVERY, Progress


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_short_work_shows_nothing() -> None:
    lines: list[str] = []
    clock = Clock()
    with Progress("sending", "message", tty=False, echo=lines.append, clock=clock) as shown:
        for done in range(1, 11):
            clock.now += 0.05
            shown.update(done, 10)
    assert lines == []


def test_off_a_terminal_a_line_every_few_seconds_and_at_the_end() -> None:
    lines: list[str] = []
    clock = Clock()
    with Progress("importing", "item", tty=False, echo=lines.append, clock=clock) as shown:
        for done in range(1, 2001):
            clock.now += 0.01  # 100 items a second: 20 seconds in all
            shown.update(done, 2000)
    assert len(lines) == int(20 // EVERY)  # at 5, 10, 15 and 20 seconds
    assert lines[0] == "importing: 500 of 2,000 items (100/s)"
    assert lines[-1] == "importing: 2,000 of 2,000 items (100/s)"


def test_on_a_terminal_a_bar_with_count_rate_and_time_left(
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock = Clock()
    with Progress("sending", "message", tty=True, clock=clock) as shown:
        for done in range(0, 3001, 300):
            clock.now += 0.5
            shown.update(done, 3000)
        assert shown.bar is not None
    assert shown.bar is None  # closed
