"""What the schedule owes, decided from the ledger (the digests table), never from the
scheduler's job store.

A scheduled digest is due when its time (``schedule.digest``) has passed, it is less late
than ``schedule.grace_hours``, and the ledger does not have it as finished or skipped.
Past the grace it is recorded as skipped, with the reason, and never sent. A digest begun
by hand and left half-sent is resumed within the grace of its start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from feeds.text import slugify
from newsletter.digest import previous_week
from newsletter.ledger import find_digest, open_records, skip_digest
from press.config import Config
from press.digest import prepare
from press.mail import open_store, smtp_connector
from press.pipeline import run_digest

log = logging.getLogger("press.run")


def weekly_trigger(config: Config) -> CronTrigger:
    """The weekly digest's schedule, in the site's zone (it follows DST changes)."""
    day, clock = config.schedule.digest.split()
    hour, minute, second = (int(n) for n in clock.split(":"))
    return CronTrigger(
        day_of_week=day, hour=hour, minute=minute, second=second, timezone=config.site.timezone
    )


@dataclass(frozen=True)
class Due:
    """One time the schedule fired: the digest of ``week`` became due ``at``."""

    week: str
    at: datetime


def fired(config: Config, since: datetime, until: datetime) -> list[Due]:
    """The times the weekly schedule fired in ``(since, until]``, oldest first."""
    trigger, zone = weekly_trigger(config), config.site.timezone
    found: list[Due] = []
    fire = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
    while fire is not None and fire <= until:
        found.append(Due(str(previous_week(fire, zone)), fire))
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return found


def grace(config: Config) -> timedelta:
    return timedelta(hours=config.schedule.grace_hours)


def send_due(
    config: Config,
    now: datetime,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
) -> bool:
    """Send (or write to ``var/outbox`` when no SMTP server is set) every digest the
    ledger says is due now; record the ones past their grace as skipped. Returns True when
    something due could not all go (the SMTP server was down, messages were deferred): the
    caller tries again later."""
    clock = clock or (lambda: now)
    engine = open_store(config)
    allowed = grace(config)
    slug = slugify(config.newsletter.category)
    mode = "send" if smtp_connector(config) else "outbox"
    again = False
    seen: set[str] = set()
    # The last firing before the grace window too: a digest missed altogether is recorded.
    for due in fired(config, now - allowed - timedelta(days=7), now):
        key = f"{due.week}-{slug}"
        seen.add(key)
        record = find_digest(engine, key)
        if record is not None and record.done:
            continue
        late = now - due.at
        if late > allowed:
            _skip(config, due, key, slug, late, now, record is not None)
            continue
        if mode == "send":
            log.info("digest %s is due (%s), %s late", key, f"{due.at:%Y-%m-%d %H:%M %Z}", late)
        again |= _run(config, due.week, None, mode, now, due.at, stop, clock)
    if mode == "send":
        for record in open_records(engine):
            if record.key in seen or record.due_at is not None:
                continue  # a scheduled one is handled above, or is older than the window
            if now - record.created_at <= allowed:  # begun by hand, left half-sent
                again |= _run(config, record.week, record.category, mode, now, None, stop, clock)
    return again


def _run(
    config: Config,
    week: str,
    category: str | None,
    mode: str,
    now: datetime,
    due: datetime | None,
    stop: threading.Event | None,
    clock: Callable[[], datetime],
) -> bool:
    folder = config.folder("var") / "outbox"
    result = run_digest(
        config, week, mode, now, say=log.info, warn=log.warning, category=category,
        folder=folder, due=due, stop=stop, clock=clock,
    )  # fmt: skip
    return result.state in ("left", "unavailable") and not (stop and stop.is_set())


def _skip(
    config: Config, due: Due, key: str, slug: str, late: timedelta, now: datetime, begun: bool
) -> None:
    if not begun:
        run, _ = prepare(config, due.week, None, now)
        if not run.digest.posts:
            return  # nothing would have gone: nothing to record
    reason = (
        f"not sent within schedule.grace_hours ({grace(config)}) of its time "
        f"{due.at:%Y-%m-%d %H:%M %Z}; {late} late"
    )
    left = skip_digest(open_store(config), key, slug, due.week, reason, now, due.at)
    unsent = f"; {left:,} messages left unsent" if left else ""
    log.warning("skipped digest %s: %s%s", key, reason, unsent)
