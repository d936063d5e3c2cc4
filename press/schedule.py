"""``press run``: publish when posts change or come due, send the weekly digest on time.

APScheduler 3 keeps the weekly job in the database, so a restart keeps it. The work is
done by the same functions ``press publish`` and ``press digest --send`` call; the
deliveries table makes the digest reach each subscriber once however often a job runs.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import text

from newsletter.store import unfinished_digests
from press.config import Config, load_config
from press.content import PostCache
from press.digest import prepare, signer_from, write_outbox, write_web_copy
from press.files import PostChanged, Stamps, files_below, post_stamps
from press.mail import open_store, smtp_connector
from press.publish import cpu_processes, publish
from press.send import outbox_recipients, send_digest

log = logging.getLogger("press.run")
JOB_ID = "weekly-digest"
JOB_FUNCTION = "press.schedule:weekly_digest_job"
LOCK_KEY = 0x70726573  # "pres": the advisory lock of the one scheduler of a database
QUIET = 0.5  # seconds without a further change before a burst of saves is published
# Set when press run is asked to stop: a digest being sent finishes its messages in
# flight and leaves the rest queued. (A job in the job store can only name a function.)
STOPPING = threading.Event()


class AlreadyRunning(Exception):
    """Another ``press run`` holds the scheduler lock of this database."""


def weekly_trigger(config: Config) -> CronTrigger:
    """The weekly digest's schedule, in the site's zone (it follows DST changes)."""
    day, clock = config["schedule.digest"].split()
    hour, minute, second = (int(n) for n in clock.split(":"))
    return CronTrigger(
        day_of_week=day, hour=hour, minute=minute, second=second, timezone=config.site.timezone
    )


def _now() -> datetime:
    return datetime.now(UTC)


def weekly_digest_job(config_path: str) -> None:
    """The job the scheduler keeps: it names press.toml, read afresh each week."""
    send_weekly(load_config(config_path), _now())


def send_weekly(config: Config, now: datetime) -> None:
    """Build the last full week's digest and send it (or write the outbox with no SMTP)."""
    run, _ = prepare(config, None, None, now)
    found = run.digest
    if not found.posts:
        log.info(
            "weekly digest: no %s posts in %s; nothing to send", found.category.name, found.week
        )
        return
    write_web_copy(run)
    if smtp_connector(config) is None:
        emails = outbox_recipients(open_store(config), found.category.slug)
        write_outbox(run, config.folder("var") / "outbox", signer_from(config), emails)
        log.info("weekly digest %s: wrote %d messages to var/outbox", found.key, len(emails))
        return
    report = send_digest(config, run, open_store(config), stop=STOPPING)
    log.info(
        "weekly digest %s: sent to %d (%d failed, %d skipped, %d left queued)",
        found.key,
        report.sent,
        report.failed,
        report.skipped,
        report.left,
    )


def resume_unfinished(config: Config, now: datetime) -> int:
    """Finish sending digests a killed run left half-sent, within the grace period."""
    grace = timedelta(hours=config["schedule.grace_hours"])
    if smtp_connector(config) is None:
        return 0
    resumed = 0
    for key, week, category in unfinished_digests(open_store(config), now - grace):
        run, _ = prepare(config, week, category, now)  # the category by its slug
        log.info("resuming digest %s", key)
        report = send_digest(config, run, open_store(config), stop=STOPPING)
        log.info("digest %s: sent to %d more, %d left queued", key, report.sent, report.left)
        resumed += 1
    return resumed


def missed_run(config: Config, scheduler: BackgroundScheduler) -> datetime | None:
    """When the stored weekly job was next due, read without starting the scheduler.

    (A started scheduler would process a past-due job on shutdown and move it on, so a
    failed catch-up would lose the missed digest.)
    """
    store = SQLAlchemyJobStore(url=config.database_url)
    store.start(scheduler, "default")
    try:
        job = store.lookup_job(JOB_ID)
    finally:
        store.shutdown()
    return job.next_run_time if job is not None else None


def catch_up(config: Config, missed: datetime | None, now: datetime) -> str:
    """Send a weekly digest missed while press run was down, if within the grace period.

    Returns what was done, for the log. An error propagates and leaves the job as it was,
    so the next start tries again.
    """
    if missed is None or missed > now:
        return "nothing missed"
    late = now - missed
    grace = timedelta(hours=config["schedule.grace_hours"])
    if late > grace:
        message = (
            f"skipped the weekly digest due {missed:%Y-%m-%d %H:%M %Z}: {late} late, over {grace}"
        )
        log.warning(message)
        return message
    log.info("sending the weekly digest due %s, %s late", missed, late)
    send_weekly(config, now)
    return "sent the missed digest"


@dataclass
class SchedulerLock:
    """One scheduler per database. On PostgreSQL an advisory lock, held by a connection
    of this process (released when it dies, wherever it runs); elsewhere a lock file in
    ``var/``. With ``standby`` a second ``press run`` waits and takes over."""

    config: Config
    standby: bool = False
    fd: int = -1
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
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}
            ).scalar()
            connection.commit()
            if got:
                self.holder = connection
                return True
            connection.close()
            return False
        path = self.config.folder("var") / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return True

    def _who(self) -> str:
        if self.config.database_url.startswith("postgresql"):
            return "another process holds the PostgreSQL advisory lock"
        path = self.config.folder("var") / "scheduler.lock"
        return f"process {path.read_text().strip() or '?'}"

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
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

    def __init__(self, config: Config) -> None:
        self.config = config
        self.cache: PostCache | None = None

    def __call__(self, reason: str, stamps: Stamps | None = None) -> datetime | None:
        """Publish; returns when the next future-dated post comes due. ``stamps``: the
        posts as the watcher just found them (else they are looked at again)."""
        now = _now()
        # Called when something changed or came due. The scheduler is the press command.
        try:
            result = publish(
                self.config, now, processes=cpu_processes(), cache=self.cache, stamps=stamps
            )
        except PostChanged as error:  # saved again while being published: try again soon
            log.warning("publish (%s) stopped: %s", reason, error)
            return now
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
        return result.next_due


def scheduler_for(config: Config) -> BackgroundScheduler:
    grace = int(config["schedule.grace_hours"] * 3600)
    return BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=config.database_url)},
        timezone=config.site.timezone,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
    )


def run(
    config: Config,
    once: bool = False,
    standby: bool = False,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = _now,
) -> None:
    """``press run``: until ``stop`` is set (SIGTERM, Ctrl-C), or once with ``once``."""
    stop = stop or STOPPING
    lock = SchedulerLock(config, standby)
    lock.acquire(stop)
    scheduler = scheduler_for(config)
    try:
        open_store(config)  # migrations first: the job store shares the database
        publisher = Publisher(config)
        # Looked at before the first publish: whatever is saved after it, even while
        # press run is still starting, is a change the watcher sees.
        seen = snapshot(config)
        due = publisher("start", seen.posts)
        resume_unfinished(config, clock())
        log.info("%s", catch_up(config, missed_run(config, scheduler), clock()))
        scheduler.start(paused=True)
        job: Any = scheduler.add_job(
            JOB_FUNCTION,
            weekly_trigger(config),
            args=[str(config.path)],
            id=JOB_ID,
            name="weekly digest",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=int(config["schedule.grace_hours"] * 3600),
        )
        log.info("next weekly digest: %s", job.next_run_time)
        if once:
            return
        scheduler.resume()
        watch(config, stop, due, publisher, seen)
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
        lock.release()


def watch(
    config: Config,
    stop: threading.Event,
    due: datetime | None,
    publisher: Publisher,
    seen: Snapshot,
) -> None:
    """Poll posts/ and templates/: publish after a burst of changes (since ``seen``), and
    when posts fall due."""
    poll = max(0.1, float(config["schedule.poll_seconds"]))
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
        elif due is not None and _now() >= due:
            due = publisher("a post came due")
