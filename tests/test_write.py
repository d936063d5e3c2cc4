"""Writing public/: the same files and report whether outputs are made here or shared
with forked processes; children that fail leave the work to this process."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from feeds.output import Output
from press.shares import Sharing
from press.write import write_tree

MAKE_APART_FROM = Sharing().make_from
# Two processes, and forking allowed whatever threads an earlier test left running.
TWO = Sharing(processes=2, may_fork=lambda: True)


def make(tag: str, i: int, makers: Path) -> bytes:
    with open(makers / str(os.getpid()), "a") as who:  # who made it
        who.write(f"{i}\n")
    return f"{tag} {i}\n".encode()


def outputs(count: int, tag: str, makers: Path) -> list[Output]:
    makers.mkdir(exist_ok=True)
    return [
        Output(f"dir{i % 3}/file{i}.txt", f"{tag}{i}", functools.partial(make, tag, i, makers))
        for i in range(count)
    ]


def contents(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in root.rglob("*.txt")}


def test_shared_making_writes_what_making_here_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count, here, shared = MAKE_APART_FROM * 2, tmp_path / "here", tmp_path / "shared"
    alone = write_tree(tmp_path / "a", outputs(count, "x", here), tmp_path / "a.json")
    both = write_tree(tmp_path / "b", outputs(count, "x", shared), tmp_path / "b.json", sharing=TWO)
    assert both.written == alone.written and len(both.written) == count
    assert contents(tmp_path / "b") == contents(tmp_path / "a")
    assert len(list(here.iterdir())) == 1 and len(list(shared.iterdir())) == 2  # and a child
    changed = outputs(count, "y", shared)[:5] + outputs(count, "x", shared)[5:]
    again = write_tree(tmp_path / "b", changed, tmp_path / "b.json", sharing=TWO)
    assert again.written == sorted(o.name for o in changed[:5])
    assert len(again.unchanged) == count - 5


def test_children_that_fail_leave_the_making_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("no processes here")

    count = MAKE_APART_FROM + 1
    items = outputs(count, "x", tmp_path / "makers")
    sharing = Sharing(processes=2, may_fork=lambda: True, context=broken)
    report = write_tree(tmp_path / "out", items, tmp_path / "m.json", sharing=sharing)
    assert len(report.written) == count and len(contents(tmp_path / "out")) == count


def test_an_error_in_a_child_stops_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail() -> bytes:
        raise RuntimeError("posts/x.md: changed during the publish; publish again")

    items = outputs(MAKE_APART_FROM * 2, "x", tmp_path / "makers")
    items[1] = Output("bad.txt", "bad", fail)  # the child's share: odd positions
    with pytest.raises(RuntimeError, match=r"posts/x\.md: changed during the publish"):
        write_tree(tmp_path / "out", items, tmp_path / "m.json", sharing=TWO)


def test_a_child_that_dies_leaves_the_making_here(tmp_path: Path) -> None:
    parent = os.getpid()

    def dies_in_a_child() -> bytes:
        if os.getpid() != parent:
            os._exit(3)  # killed, out of memory: no answer comes back
        return b"made here\n"

    count = MAKE_APART_FROM * 2
    items = outputs(count, "x", tmp_path / "makers")
    items[1] = Output("dies.txt", "dies", dies_in_a_child)  # the child's share
    report = write_tree(tmp_path / "out", items, tmp_path / "m.json", sharing=TWO)
    assert len(report.written) == count
    assert (tmp_path / "out" / "dies.txt").read_text() == "made here\n"
    assert len(contents(tmp_path / "out")) == count


def test_shared_making_gives_each_process_a_run_of_the_posts(tmp_path: Path) -> None:
    # Outputs that show the same posts (``about``) are made in one process, so a post is
    # rendered once; the files and the report are still those of making them here.
    count = MAKE_APART_FROM * 2
    makers = tmp_path / "makers"
    made = [
        Output(o.name, o.key, o.make, about=float(count - i))  # the newest first, as posts
        for i, o in enumerate(outputs(count, "x", makers))
    ]
    alone = write_tree(tmp_path / "a", outputs(count, "x", tmp_path / "here"), tmp_path / "a.json")
    both = write_tree(tmp_path / "b", made, tmp_path / "b.json", sharing=TWO)
    assert both.written == alone.written and contents(tmp_path / "b") == contents(tmp_path / "a")
    by_process = sorted(
        sorted(int(line) for line in p.read_text().split()) for p in makers.iterdir()
    )
    assert len(by_process) == 2
    assert sorted(i for run in by_process for i in run) == list(range(count))
    for run in by_process:  # one run each: the oldest half, the newest half
        assert run == list(range(run[0], run[0] + len(run)))
