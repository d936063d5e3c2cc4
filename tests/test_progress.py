"""Progress as a person sees it: nothing for short work; off a terminal, a line every few
seconds with the count and rate (never a bar); on one, click's bar."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from press.config import load_config
from press.progress import EVERY, Progress
from press.publish import publish
from press.shares import Sharing

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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
    assert lines[0] == "importing: 501 of 2,000 items (100/s)"  # the clock starts at 1
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


@pytest.mark.parametrize("processes", [1, 2])
def test_a_publish_tells_of_its_parsing_and_writing(project: Path, processes: int) -> None:
    """The meter a publish is given hears each stage go from nothing to all of it, shared
    out or not (the share done here stands for the others), and never more than all."""
    lines: list[str] = []
    clock = Clock()

    def ticking() -> float:
        clock.now += EVERY  # every update is a line's worth of time later
        return clock.now

    def meter(label: str, unit: str) -> Progress:
        return Progress(label, unit, tty=False, echo=lines.append, clock=ticking, after=0)

    for i in range(300):  # enough that the share done here ticks on the way (every 64)
        front = f"title: Post number {i}\ndate: 2025-01-01T09:00:00Z\ncategories: [Trade]"
        text = f"---\n{front}\n---\nText {i}.\n"
        (project / "posts" / f"2025-01-01-post-{i}.md").write_text(text)
    sharing = Sharing(processes=processes, parse_from=2, make_from=2, may_fork=lambda: True)
    config = load_config(project / "press.toml")
    result = publish(config, NOW, sharing=sharing, meter=meter)
    posts = len(list((project / "posts").glob("*.md")))
    made = len(result.report.written)
    for label, unit, total in (("parsing", "posts", posts), ("writing", "files", made)):
        said = [line for line in lines if line.startswith(f"{label}: ")]
        counts = [int(line.split()[1].replace(",", "")) for line in said]
        assert 0 < counts[0] < total and counts == sorted(counts) and len(said) >= 3, said
        assert said[-1].startswith(f"{label}: {total:,} of {total:,} {unit} ("), said
