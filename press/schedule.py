"""``press run``: publish when posts change or come due, send the weekly digest on time.

The ledger (the digests and deliveries tables) decides what is due, at start-up and at
each wake-up (``press.ledger``); APScheduler only wakes the digest thread at
``schedule.digest``. A digest that could not all go (the SMTP server down, messages
deferred) is tried again after 1, 2, 4 … minutes (at most 30) until its grace ends.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from newsletter.render import about
from press.clock import utc_now
from press.config import Config
from press.files import PostChanged, Stamps, files_below, post_stamps
from press.incremental import PostCache
from press.ledger import newsletter_trigger, scheduled, send_due
from press.lock import FileLock
from press.mail import open_store
from press.publish import publish
from press.shares import one_a_core
from press.write import WriteFailed

log = logging.getLogger("press.run")
JOB_ID = "newsletter"
QUIET = 0.5  # seconds without a further change before a burst of saves is published
RETRY = (60.0, 1800.0)  # seconds before a digest that could not go is tried again: first, most


class AlreadyRunning(Exception):
    """Another ``press run`` holds the scheduler lock of this database."""


class DigestDuty:
    """``press run``'s digest thread: sends what the ledger says is due, at start, when
    the schedule wakes it, and again with growing pauses while something due could not
    go. One thread, so one digest run at a time in this process."""

    def __init__(self, config: Config, stop: threading.Event, clock: Callable[[], datetime]):
        self.config, self.stop, self.clock = config, stop, clock
        self.wake = threading.Event()

    def once(self) -> bool:
        """Send what is due now; True when something due is left for a later try."""
        try:
            return send_due(self.config, self.clock(), self.stop, self.clock)
        except Exception:  # the database or the templates: log it, try again later
            log.exception("the digest run failed; it will be tried again")
            return True

    def loop(self) -> None:
        pause = RETRY[0]
        while not self.stop.is_set():
            self.wake.clear()
            if self.once() and not self.stop.is_set():
                log.info("trying the due digest again in %.0f minutes", pause / 60)
                self.wake.wait(pause)
                pause = min(pause * 2, RETRY[1])
            else:
                pause = RETRY[0]
                self.wake.wait()


def lock_key(identity: str) -> int:
    """A PostgreSQL advisory lock key (signed 64 bits) for one database and schema."""
    digest = hashlib.blake2b(f"press run {identity}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class SchedulerLock:
    """One scheduler per database. On PostgreSQL an advisory lock, held by a connection
    of this process (released when it dies, wherever it runs); elsewhere a lock file in
    ``var/``. With ``standby`` a second ``press run`` waits and takes over."""

    config: Config
    standby: bool = False
    file: FileLock | None = None
    holder: Any = None

    def acquire(self, stop: threading.Event) -> None:
        told = False
        while not self._try():
            if not self.standby:
                raise AlreadyRunning(
                    "press run is already running on this database "
                    f"({self._who()}); stop it first, start this one with --standby, "
                    "or use press publish / press digest by hand"
                )
            if not told:
                log.info("standing by: another press run holds the scheduler lock")
                told = True
            if stop.wait(1.0):
                raise AlreadyRunning("stopped while standing by")
        if told:
            log.info("taking over as the scheduler")

    def _try(self) -> bool:
        if self.config.database_url.startswith("postgresql"):
            engine = open_store(self.config)
            connection = engine.connect()
            # One key per database and schema: two sites (or test schemas) on one server
            # never block each other.
            where = connection.execute(text("SELECT current_database(), current_schema()")).one()
            key = lock_key(f"{where[0]}.{where[1]}")
            lock = text("SELECT pg_try_advisory_lock(:key)")
            got = connection.execute(lock, {"key": key}).scalar()
            connection.commit()
            if got:
                self.holder = connection
                return True
            connection.close()
            return False
        self.file = FileLock(self.config.folder("var") / "scheduler.lock")
        return self.file.take()

    def _who(self) -> str:
        if self.config.database_url.startswith("postgresql"):
            return "another process holds the PostgreSQL advisory lock"
        assert self.file is not None
        return self.file.holder()

    def release(self) -> None:
        if self.file is not None:
            self.file.release()
        if self.holder is not None:
            self.holder.close()  # ends the session: the advisory lock goes with it
            self.holder = None


@dataclass(frozen=True)
class Snapshot:
    """What the posts and templates look like now: each post's stamp (``post_stamps``),
    each template's size and time."""

    posts: Stamps
    templates: dict[str, tuple[int, int]]


def snapshot(config: Config) -> Snapshot:
    templates: dict[str, tuple[int, int]] = {}
    for path in files_below(config.folder("templates")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        templates[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return Snapshot(post_stamps(config.folder("posts"), config.root), templates)


class Publisher:
    """``press run``'s publishing: logs what changed, and keeps the posts it loaded in
    memory for the next publish (the post cache on disk is for other processes)."""

    def __init__(
        self,
        config: Config,
        clock: Callable[[], datetime] = utc_now,
        published: Callable[[], None] = lambda: None,
    ) -> None:
        self.config, self.clock, self.published = config, clock, published
        self.cache: PostCache | None = None

    def __call__(self, reason: str, stamps: Stamps | None = None) -> datetime | None:
        """Publish; returns when the next future-dated post comes due. ``stamps``: the
        posts as the watcher just found them (else they are looked at again)."""
        now = self.clock()
        # Called when something changed or came due. The scheduler is the press command.
        try:
            result = publish(
                self.config, now, sharing=one_a_core(), cache=self.cache, stamps=stamps
            )
        except PostChanged as error:  # saved again while being published: try again soon
            log.warning("publish (%s) stopped: %s", reason, error)
            return now
        except WriteFailed as error:  # a full disk, say: tried again in a minute
            log.error("publish (%s) failed: %s; trying again in a minute", reason, error)
            return now + timedelta(minutes=1)
        self.cache = result.cache
        report = result.report
        log.info(
            "publish (%s): %d written, %d unchanged, %d removed; %d posts, %d skipped",
            reason,
            len(report.written),
            len(report.unchanged),
            len(report.removed),
            result.published,
            len(result.loaded.failed),
        )
        for problem in result.loaded.problems:
            log.warning("%s", problem)
        self.published()
        return result.next_due


def run(
    config: Config,
    once: bool = False,
    standby: bool = False,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> bool:
    """``press run``: until ``stop`` is set (SIGTERM, Ctrl-C: a digest being sent finishes
    its messages in flight and leaves the rest queued), or once with ``once``.

    Returns (with ``once``) True when a due digest could not all go."""
    stop = stop or threading.Event()
    lock = SchedulerLock(config, standby)
    lock.acquire(stop)
    scheduler = BackgroundScheduler(timezone=config.site.timezone)
    duty = DigestDuty(config, stop, clock)
    thread = threading.Thread(target=duty.loop, name="digests", daemon=True)
    try:
        open_store(config)  # migrations first
        # A post newsletter emails a post once it is published: the digest thread looks.
        posting = any(spec.cadence == "post" for spec in config.newsletters)
        publisher = Publisher(config, clock, duty.wake.set if posting else lambda: None)
        # Looked at before the first publish: whatever is saved after it, even while
        # press run is still starting, is a change the watcher sees.
        seen = snapshot(config)
        due = publisher("start", seen.posts)
        if once:
            return duty.once()
        jobs: list[Any] = [
            scheduler.add_job(
                duty.wake.set,
                newsletter_trigger(config, spec),
                id=f"{JOB_ID}:{spec.id}",
                name=spec.title,
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=None,
            )
            for spec in scheduled(config)
        ]
        scheduler.start()
        for job in jobs:  # "next: the weekly China-Russia digest, 2026-12-07 07:00:00+00:00"
            log.info("next: %s, %s", about(job.name), job.next_run_time)
        thread.start()  # sends what is due now first
        watch(config, stop, due, publisher, seen, clock)
        return False
    finally:
        if thread.is_alive():  # watch() ends when stop is set, or on an error
            stop.set()
            duty.wake.set()
            thread.join()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        lock.release()


def watch(
    config: Config,
    stop: threading.Event,
    due: datetime | None,
    publisher: Publisher,
    seen: Snapshot,
    clock: Callable[[], datetime] = utc_now,
) -> None:
    """Poll posts/ and templates/: publish after a burst of changes (since ``seen``), and
    when posts fall due."""
    poll = max(0.1, float(config.schedule.poll_seconds))
    while not stop.wait(poll):
        current = snapshot(config)
        if current != seen:
            while not stop.wait(QUIET):  # wait for the burst of saves to end
                settled = snapshot(config)
                if settled == current:
                    break
                current = settled
            seen = current
            due = publisher("posts changed", current.posts)
        elif due is not None and clock() >= due:
            due = publisher("a post came due")
