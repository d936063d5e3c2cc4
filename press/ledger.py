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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from feeds.model import Post
from feeds.select import published
from newsletter.digest import find_categories, previous_day, previous_week
from newsletter.ledger import (
    digest_by_id,
    find_digest,
    known_post,
    open_records,
    remember_post,
    skip_digest,
)
from newsletter.model import NewsletterSpec
from newsletter.post_keys import fresh_posts, post_keys
from press.config import Config
from press.content import load_posts
from press.digest import prepare, prepare_post
from press.incremental import open_cache
from press.mail import open_store, smtp_connector
from press.pipeline import run_digest, send_run

log = logging.getLogger("press.run")


def newsletter_trigger(config: Config, spec: NewsletterSpec) -> CronTrigger:
    """A daily or weekly newsletter's schedule, in the site's zone (it follows DST)."""
    day, clock = spec.at.split() if spec.cadence == "weekly" else ("*", spec.at)
    hour, minute, second = (int(n) for n in clock.split(":"))
    return CronTrigger(
        day_of_week=day, hour=hour, minute=minute, second=second, timezone=config.site.timezone
    )


def scheduled(config: Config) -> list[NewsletterSpec]:
    """The newsletters that go out on a schedule (daily and weekly ones)."""
    return [spec for spec in config.newsletters if spec.cadence in ("daily", "weekly")]


@dataclass(frozen=True)
class Due:
    """One time a schedule fired: the digest of ``period`` (a week or a day) of the
    newsletter ``newsletter`` became due ``at``."""

    newsletter: str
    period: str
    at: datetime

    @property
    def key(self) -> str:
        return f"{self.period}-{self.newsletter}"


PERIOD = {"weekly": timedelta(days=7), "daily": timedelta(days=1)}


def fired(
    config: Config, since: datetime, until: datetime, spec: NewsletterSpec | None = None
) -> list[Due]:
    """The times the newsletter's (default: the first's) schedule fired in ``(since,
    until]``, oldest first."""
    spec = spec or scheduled(config)[0]
    trigger, zone = newsletter_trigger(config, spec), config.site.timezone
    found: list[Due] = []
    fire = trigger.get_next_fire_time(None, since + timedelta(microseconds=1))
    while fire is not None and fire <= until:
        if spec.cadence == "daily":
            period = previous_day(fire, zone).isoformat()
        else:
            period = str(previous_week(fire, zone))
        found.append(Due(spec.id, period, fire))
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
    ledger says is due now, of every newsletter; record the ones past their grace as
    skipped. Returns True when something due could not all go (the SMTP server was down,
    messages were deferred): the caller tries again later."""
    clock = clock or (lambda: now)
    engine = open_store(config)
    allowed = grace(config)
    mode = "send" if smtp_connector(config) else "outbox"
    again = False
    seen: set[str] = set()
    for spec in scheduled(config):
        # The last firing before the grace window too: a digest missed altogether is
        # recorded.
        for due in fired(config, now - allowed - PERIOD[spec.cadence], now, spec):
            seen.add(due.key)
            record = find_digest(engine, due.key)
            if record is not None and record.done:
                continue
            late = now - due.at
            if late > allowed:
                _skip(config, due, late, now, record is not None)
                continue
            if mode == "send":
                at = f"{due.at:%Y-%m-%d %H:%M %Z}"
                log.info("digest %s is due (%s), %s late", due.key, at, late)
            again |= _run(config, due.period, spec.id, mode, now, due.at, stop, clock)
            if stop is not None and stop.is_set():
                return again
    posting = [spec for spec in config.newsletters if spec.cadence == "post"]
    if posting:  # the posts read once for all of them
        posts = published(load_posts(config, open_cache(config)).posts, now)
        for spec in posting:
            again |= send_new_posts(config, spec, posts, now, mode, stop, clock)
            if stop is not None and stop.is_set():
                return again
    if mode == "send":
        known = {spec.id for spec in config.newsletters if spec.cadence != "post"}
        for record in open_records(engine):
            if record.key in seen or record.due_at is not None or record.newsletter not in known:
                continue  # a scheduled one is handled above, or is older than the window
            if now - record.created_at <= allowed:  # begun by hand, left half-sent
                again |= _run(config, record.week, record.newsletter, mode, now, None, stop, clock)
    return again


def send_new_posts(
    config: Config,
    spec: NewsletterSpec,
    posts: Sequence[Post],
    now: datetime,
    mode: str,
    stop: threading.Event | None,
    clock: Callable[[], datetime],
) -> bool:
    """A ``post`` newsletter: email each of the published ``posts`` of its categories
    that it has not emailed by any of the post's names and that is younger than its
    ``max_age_days``, one email a post; finish one begun and left (within the grace).
    True when one could not all go."""
    engine = open_store(config)
    fresh = fresh_posts(posts, spec, find_categories(posts, spec), now)
    again = False
    for post in fresh:
        keys = post_keys(config.site, post)
        known, digest_id = known_post(engine, spec.id, keys, now)
        if known:
            if digest_id is None or mode != "send":
                continue  # written to the outbox before
            record = digest_by_id(engine, digest_id)
            if record.done or now - record.created_at > grace(config):
                continue
            period = record.period
        else:
            period = "post-" + keys[0].split(":", 1)[1][:16]
        run = prepare_post(config, spec, post, period, now)
        if mode == "send":
            log.info("new post for %s: %s", spec.id, post.title)
            result = send_run(config, run, log.info, None, stop=stop, clock=clock)
            again |= result.state in ("left", "unavailable")
        else:
            from press.digest import signer_from
            from press.send import outbox_digest

            folder = config.folder("var") / "outbox"
            written = outbox_digest(run, engine, folder, signer_from(config))
            remember_post(engine, spec.id, keys, now)
            log.info("new post for %s: %d messages written to %s", spec.id, len(written), folder)
        if stop is not None and stop.is_set():
            break
    return again


def _run(
    config: Config,
    week: str,
    newsletter: str | None,
    mode: str,
    now: datetime,
    due: datetime | None,
    stop: threading.Event | None,
    clock: Callable[[], datetime],
) -> bool:
    folder = config.folder("var") / "outbox"
    result = run_digest(
        config, week, mode, now, say=log.info, warn=log.warning, newsletter=newsletter,
        folder=folder, due=due, stop=stop, clock=clock,
    )  # fmt: skip
    return result.state in ("left", "unavailable") and not (stop and stop.is_set())


def _skip(config: Config, due: Due, late: timedelta, now: datetime, begun: bool) -> None:
    if not begun:
        run, _ = prepare(config, due.period, due.newsletter, now)
        if not run.digest.posts:
            return  # nothing would have gone: nothing to record
    reason = (
        f"not sent within schedule.grace_hours ({grace(config)}) of its time "
        f"{due.at:%Y-%m-%d %H:%M %Z}; {late} late"
    )
    engine = open_store(config)
    left = skip_digest(engine, due.key, due.newsletter, due.period, reason, now, due.at)
    unsent = f"; {left:,} messages left unsent" if left else ""
    log.warning("skipped digest %s: %s%s", due.key, reason, unsent)
