"""Leases: how any number of senders share queued deliveries without sending one twice.

A sender takes a batch of rows under a lease in its own name (its *owner* token, unique
to the process), and a heartbeat renews the lease while the process lives. Every write
about a row names the owner (see ``newsletter.store``), so a sender that slept past its
lease (SIGSTOP, a VM pause, a partition) can no longer mark anything, and finds before
each send that the row is no longer its own.

A lease held by a process of this machine's current boot that no longer runs is taken
over at once, without waiting for it to run out: the owner token names the host, the
boot and the process id.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from newsletter.deliveries import Delivery, claim, lease_owners, release, renew

log = logging.getLogger(__name__)
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


def _boot() -> str:
    try:
        return BOOT_ID.read_text().strip()[:8]
    except OSError:
        return "noboot"


def new_owner() -> str:
    """This process's lease token: ``host/boot:pid:random``."""
    return f"{socket.gethostname()}/{_boot()}:{os.getpid()}:{secrets.token_hex(4)}"


def is_dead(owner: str) -> bool:
    """True only when ``owner`` is a process of this machine's current boot that no longer
    runs (anything else, another machine's process included, may be alive)."""
    where, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if where != f"{socket.gethostname()}/{_boot()}" or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def free_dead_leases(engine: Engine, now: datetime) -> list[str]:
    """Release the leases of this machine's senders that died; returns their owners."""
    dead = [owner for owner in lease_owners(engine, now) if is_dead(owner)]
    for owner in dead:
        release(engine, owner)
        log.info("took over the leases of %s, which is no longer running", owner)
    return dead


@contextmanager
def heartbeat(
    engine: Engine, owner: str, lease: timedelta, clock: Callable[[], datetime]
) -> Iterator[None]:
    """Renew ``owner``'s leases every third of ``lease`` while the block runs; give back
    the unsent rows at the end."""
    stopping = threading.Event()

    def beat() -> None:
        while not stopping.wait(lease.total_seconds() / 3):
            try:
                renew(engine, owner, clock() + lease)
            except Exception:  # the database is away: the send notices by itself
                log.warning("could not renew the leases of %s", owner, exc_info=True)

    pulse = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    pulse.start()
    try:
        yield
    finally:
        stopping.set()
        pulse.join()
        release(engine, owner)


def claimer(
    engine: Engine,
    owner: str,
    size: int,
    lease: timedelta,
    clock: Callable[[], datetime],
    digest_id: int | None = None,
    once_each: bool = False,
) -> Callable[[], list[Delivery]]:
    """Takes the next batch for ``owner`` (of one digest, or of any); an empty list when
    nothing is free, after taking over what dead senders of this machine held. With
    ``once_each`` a row is taken at most once (a deferred one waits for the next run)."""
    after, started = 0, False

    def next_batch() -> list[Delivery]:
        nonlocal after, started
        if not started:  # a killed run's batch first: the cursor must not pass it by
            free_dead_leases(engine, clock())
            started = True
        batch = claim(engine, owner, size, clock(), lease, digest_id, after)
        if not batch and free_dead_leases(engine, clock()):
            batch = claim(engine, owner, size, clock(), lease, digest_id, after)
        if batch and once_each:
            after = batch[-1].id
        return batch

    return next_batch
