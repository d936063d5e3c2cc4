"""The one digest pipeline: ``press digest`` and ``press run`` both call ``run_digest``.

Choose the week, render once, write the web copy; then, by mode, write a preview, write
the outbox, queue the deliveries for workers, or send, as the ledger (the digests and
deliveries tables) allows; and say what happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from feeds.counts import counted
from newsletter.deliver import DeliveryReport, summary
from newsletter.digest import unknown_category
from newsletter.ledger import DigestRecord, delivery_counts, find_digest
from newsletter.render import week_dates
from press.clock import utc_now
from press.config import Config
from press.digest import (
    SECRET_VARIABLE,
    DigestRun,
    prepare,
    signer_from,
    write_preview,
    write_web_copy,
)
from press.faults import reached
from press.mail import open_store
from press.send import freeze_audience, outbox_digest, queue_digest, send_digest, sending_setup

MODES = ("send", "queue", "outbox", "preview", "web")  # web: only the web copy
# Exit statuses of a digest run that did not send everything: some messages were deferred
# (run again), or the SMTP server took nothing (sysexits' EX_TEMPFAIL: try later).
LEFT_QUEUED = 3
UNAVAILABLE = 75  # EX_TEMPFAIL


@dataclass
class DigestResult:
    """What a digest run did. ``state``: ``done`` (everything that was to happen
    happened: sent, queued, written, or nothing to do), ``empty`` (no posts that week),
    ``left`` (messages deferred, still queued), ``unavailable`` (the SMTP server took
    nothing: the rest is queued for the next try)."""

    key: str
    state: str = "done"
    report: DeliveryReport | None = None
    paths: list[Path] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        return {"left": LEFT_QUEUED, "unavailable": UNAVAILABLE}.get(self.state, 0)


def run_digest(
    config: Config,
    week: str | None,
    mode: str,
    now: datetime,
    *,
    say: Callable[[str], None],
    warn: Callable[[str], None] | None = None,
    newsletter: str | None = None,
    folder: Path | None = None,
    due: datetime | None = None,
    progress: Callable[[DeliveryReport, int], None] = lambda report, total: None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> DigestResult:
    """Run the digest of ``week`` (``2022-W37``, ``latest``, None: the last full week) in
    ``mode``: send, queue, outbox (into ``folder``), preview (into ``folder``), or web
    (only the web copy, which every mode writes).

    ``say`` is told what happens, ``warn`` (default ``say``) what the person should know.
    ``due`` is the schedule's time for a scheduled digest (kept in the ledger). Raises
    ``WeekError`` for a bad week, ``SendRefused`` when sending is not possible as
    configured; an SMTP server that is down is a result (``unavailable``), not an error.
    """
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    run, posts = prepare(config, week, newsletter, now)
    found = run.digest
    if not found.posts:
        say(f"no {found.label} posts in {found.named}; nothing to send")
        for category in found.categories:
            why = unknown_category(posts, category.name)
            if why:
                (warn or say)(f"{category.name}: {why}")
        return DigestResult(found.key, "empty")
    name, count = found.label, len(found.posts)
    say(f"{name} digest {found.named} ({week_dates(found)}): {counted(count, 'post')}")
    say(f"subject: {run.rendered.subject}")
    result = DigestResult(found.key)
    if mode == "send":
        result = send_run(config, run, say, due, progress, stop, clock)
    elif mode == "queue":
        queued = queue_digest(config, run, open_store(config), clock)
        say(f"queued {counted(queued, 'delivery', 'deliveries')} for the workers (press deliver)")
    elif mode != "web":
        assert folder is not None, "outbox and preview write into a folder"
        signer = signer_from(config)
        if signer.is_development:
            (warn or say)(
                f"{SECRET_VARIABLE} is not set: links are signed with the development key "
                "(fine for previews, never for real subscribers)"
            )
        if mode == "preview":
            result.paths += write_preview(run, folder, signer)
        else:
            written = outbox_digest(run, open_store(config), folder, signer)
            if not written:
                say(f"no confirmed subscribers of {found.label}; outbox empty")
            result.paths += written
            say(f"wrote {counted(len(written), 'message')} to {folder}")
    web_copy = write_web_copy(run)
    result.paths += [web_copy] if web_copy else []
    return result


def send_run(
    config: Config,
    run: DigestRun,
    say: Callable[[str], None],
    due: datetime | None = None,
    progress: Callable[[DeliveryReport, int], None] = lambda report, total: None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> DigestResult:
    """Send a rendered digest as the ledger allows: open it (its audience frozen) the
    first time, send what is queued, and say what happened."""
    key = run.digest.key
    sending_setup(config)  # refuse before the ledger is touched
    engine = open_store(config)
    record = find_digest(engine, key)
    if record is not None and record.done:
        say(already(config, record, delivery_counts(engine, record.id)))
        return DigestResult(key)
    reached("digest:due")
    counts = delivery_counts(engine, freeze_audience(run, engine, clock(), due))
    total = sum(counts.values())
    if record is None:
        say(f"sending digest {key} to {counted(total, 'subscriber')}")
    else:
        say(f"resuming digest {key}: {counts['queued']:,} of {total:,} still to send")
    report = send_digest(config, run, engine, progress, stop, clock, due)
    say(summary(report))
    if report.outage:
        say(
            f"the SMTP server takes no mail now ({report.outage}): digest {key} has "
            f"{report.left:,} of {total:,} messages left queued for the next try"
        )
        return DigestResult(key, "unavailable", report)
    if report.left:
        return DigestResult(key, "left", report)
    return DigestResult(key, "done", report)


def already(config: Config, record: DigestRecord, counts: dict[str, int]) -> str:
    """The line for a digest the ledger has as done."""
    zone = config.site.timezone
    if record.skipped_at is not None:
        when = record.skipped_at.astimezone(zone)
        return f"digest {record.key} was skipped on {when:%Y-%m-%d %H:%M}: {record.skip_reason}"
    assert record.finished_at is not None
    when = record.finished_at.astimezone(zone)
    total = sum(counts.values())
    others = [f"{counts[name]:,} {name}" for name in ("failed", "skipped") if counts[name]]
    besides = f" ({', '.join(others)})" if others else ""
    return (
        f"digest {record.key} was already sent to all {total:,} subscribers{besides} "
        f"on {when:%Y-%m-%d %H:%M}"
    )
