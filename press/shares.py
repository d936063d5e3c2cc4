"""Work shared out between this process and child processes, one a core: what a cold
publish of a big site spends its time on (parsing posts, making files)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ChildDied(Exception):
    """A child process died before it gave its results back."""


FAILED = (OSError, ChildDied)  # children that could not start, or died
Tick = Callable[[int, int], None]  # (done, total): how long work tells of its progress


def no_tick(done: int, total: int) -> None:
    """A ``Tick`` for work nobody watches."""


def ticking(items: Sequence[T], tick: Callable[[int], None] | None) -> Iterator[T]:
    """``items`` one by one, telling ``tick`` how many are done every 64 (before each)."""
    for done, item in enumerate(items):
        if tick is not None and not done % 64:
            tick(done)
        yield item


def share_tick(tick: Tick, total: int, shares: int = 1) -> Callable[[int], None]:
    """What the share done in this process tells ``tick`` as it goes: ``deal`` gives each
    of the ``shares`` a like mix, so this one's part of its work stands for the whole."""
    return lambda done: tick(min(done * shares, total), total)


def can_fork() -> bool:
    """Whether a child may be forked from this process: not while other threads run (a
    lock one of them holds would stay locked in the child). A forked child starts at
    once, with everything this process has loaded."""
    return threading.active_count() == 1


@dataclass(frozen=True)
class Sharing:
    """How a publish shares its work out with child processes: how many processes in
    all (1: none), from how many files parsing and outputs making pay for them, whether
    this process may fork now, and the multiprocessing context that starts them by a
    start method's name. Tests set these."""

    processes: int = 1
    parse_from: int = 500  # files to parse before it pays to fork processes for them
    spawn_from: int = 2000  # the same for processes started afresh (forkserver)
    make_from: int = 16  # outputs to make before it pays to fork processes for them
    may_fork: Callable[[], bool] = can_fork
    context: Callable[[str], Any] | None = None  # None: multiprocessing.get_context


NOT_SHARED = Sharing()  # everything in this process (frozen: a constant, not state)


def one_a_core() -> Sharing:
    """What the ``press`` command shares: one process a core, up to four."""
    return Sharing(processes=min(os.cpu_count() or 1, 4))


def deal(items: Sequence[T], processes: int) -> list[list[T]]:
    """``items`` in ``processes`` shares, every n-th item, so each share is a like mix."""
    return [list(items[i::processes]) for i in range(processes)]


def cut(items: Sequence[T], processes: int) -> list[list[T]]:
    """``items`` in ``processes`` runs, one after another, as even as can be: for items
    in an order that keeps alike ones together (the files that show the same posts)."""
    count = len(items)
    return [
        list(items[i * count // processes : (i + 1) * count // processes]) for i in range(processes)
    ]


def undeal(parts: Sequence[Sequence[R]], count: int) -> list[R]:
    """The results of ``deal``'s shares back in the order of the items."""
    ordered: list[R] = [None] * count  # type: ignore[list-item]
    for i, part in enumerate(parts):
        ordered[i :: len(parts)] = part
    return ordered


def _context(sharing: Sharing, method: str) -> Any:
    from multiprocessing import get_context  # a publish with nothing to do shares nothing

    return (sharing.context or get_context)(method)


def share_out(
    function: Callable[[list[T]], list[R]],
    items: Sequence[T],
    sharing: Sharing,
    method: str,
    here: Callable[[list[T]], list[R]] | None = None,
) -> list[R]:
    """``function`` over ``items`` dealt out in ``sharing.processes`` shares, results back
    in the order of ``items``: the first share in this process, each other one in a child
    process started by ``method`` (``fork``, or ``forkserver``, which needs ``function``
    and the items to pickle). ``here``: the ``function`` for the share this process does,
    when it differs (one that tells of its progress). Raises one of ``FAILED``."""
    # Imported here: a publish with nothing to do shares nothing (and starts faster).
    from concurrent.futures import BrokenExecutor, ProcessPoolExecutor

    shares = deal(items, sharing.processes)
    try:
        with ProcessPoolExecutor(len(shares) - 1, mp_context=_context(sharing, method)) as pool:
            others = pool.map(function, shares[1:])
            parts = [(here or function)(shares[0]), *others]
    except BrokenExecutor as error:
        raise ChildDied(str(error)) from error
    return undeal(parts, len(items))


def fork_out(
    function: Callable[[list[T]], list[R]],
    items: Sequence[T],
    sharing: Sharing,
    here: Callable[[list[T]], list[R]] | None = None,
    runs: bool = False,
) -> list[R]:
    """``share_out`` by forking, for a ``function`` and items that need not pickle (a
    closure over outputs that hold their own makers): each child is a copy of this
    process that already has them, and only its results (or its error) come back,
    through a pipe (``here`` as for ``share_out``). With ``runs``, the shares are runs of
    the items (``cut``) instead of a like mix. Raises one of ``FAILED`` when a child
    cannot start or dies, and a child's error as its own."""
    context = _context(sharing, "fork")
    shares = (cut if runs else deal)(items, sharing.processes)
    children: list[tuple[Any, Any]] = []
    try:
        for share in shares[1:]:
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(function, share, writer), daemon=True)
            child.start()
            writer.close()
            children.append((child, reader))
        parts = [(here or function)(shares[0])]
        for child, reader in children:
            try:
                done, value = reader.recv()
            except EOFError:
                child.join()
                raise ChildDied(f"a child died (exit status {child.exitcode})") from None
            if not done:
                raise value
            parts.append(value)
    finally:
        for child, reader in children:
            reader.close()
            if child.is_alive():
                child.terminate()
            child.join()
    return [r for part in parts for r in part] if runs else undeal(parts, len(items))


def _child(function: Callable[[list[T]], list[R]], share: list[T], writer: Any) -> None:
    try:
        answer: tuple[bool, Any] = (True, function(share))
    except BaseException as error:  # the parent raises it
        answer = (False, error)
    try:
        writer.send(answer)
    except Exception as error:  # an error that does not pickle: its message
        writer.send((False, RuntimeError(str(answer[1]) if not answer[0] else str(error))))
