"""Sending a digest and confirmation emails: the one path the CLI and scheduler share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path

from sqlalchemy import Engine

from newsletter.confirm import build_confirmation
from newsletter.deliver import DeliveryReport, deliver
from newsletter.deliveries import Delivery
from newsletter.leases import claimer, heartbeat, new_owner
from newsletter.ledger import delivery_counts, finish_digest, open_digest
from newsletter.message import message_bytes
from newsletter.model import DeliverySettings
from newsletter.post_keys import post_keys
from newsletter.render import about
from newsletter.smtp import SmtpError, Transport
from newsletter.store import Subscriber, list_subscribers, parse_choice
from newsletter.subscribers import normal_choices
from newsletter.tokens import MIN_KEY_LENGTH, Signer, confirm_subject
from newsletter.verp import return_path
from press.clock import ticks, utc_now
from press.config import Config
from press.digest import (
    SECRET_VARIABLE,
    DigestRun,
    ReaderRuns,
    newsletter_of,
    recipient_for,
    signer_from,
    write_outbox,
)
from press.faults import reached
from press.mail import dkim_key, smtp_connector
from press.processes import ProcessFailed, send_in_processes
from press.templates import template_env
from press.write import write_atomic


class SendRefused(Exception):
    """Sending is not possible as configured; the message says what to do."""


MAKE_KEY = (
    "export PRESS_SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')\""
)


def real_signer(config: Config) -> Signer:
    """The signer for mail to real people and for ``press serve``: refuses the
    development key and a key shorter than ``MIN_KEY_LENGTH``."""
    signer = signer_from(config)
    if signer.is_development:
        raise SendRefused(
            f"{SECRET_VARIABLE} is not set: links to real subscribers must be signed with "
            f"your own secret key; make one with: {MAKE_KEY}"
        )
    if len(signer.secret) < MIN_KEY_LENGTH:
        raise SendRefused(
            f"{SECRET_VARIABLE} is {len(signer.secret)} characters: it must be at least "
            f"{MIN_KEY_LENGTH}; make one with: {MAKE_KEY}"
        )
    return signer


def sending_setup(config: Config) -> tuple[Callable[[], Transport], DeliverySettings, Signer]:
    """The SMTP connector, delivery settings and signer, or why sending is refused."""
    connector = smtp_connector(config)
    if connector is None:
        raise SendRefused("no SMTP server is configured (smtp.url); use --outbox DIR instead")
    settings = config.delivery
    processes = config.delivery.processes
    if processes > settings.connections:
        raise SendRefused(
            f"delivery.processes ({processes}) is more than delivery.connections "
            f"({settings.connections}): each process needs a connection of its own"
        )
    return connector, settings, real_signer(config)


def send_digest(
    config: Config,
    run: DigestRun,
    engine: Engine,
    progress: Callable[[DeliveryReport, int], None] = lambda report, total: None,
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] = utc_now,
    due: datetime | None = None,
) -> DeliveryReport:
    """Send a digest to every confirmed subscriber of its newsletter, exactly once each.

    The first run freezes the audience in the deliveries table; any later run for the same
    digest sends only what is still queued. An SMTP server that cannot be used leaves the
    rest queued, with ``report.outage`` saying why.
    """
    connector, settings, signer = sending_setup(config)
    digest_id = freeze_audience(run, engine, clock(), due)
    queued = delivery_counts(engine, digest_id)["queued"]
    probe = connector()
    try:
        probe.open()  # a server that is down: nothing is tried, everything stays queued
    except SmtpError as error:
        return DeliveryReport(left=queued, outage=str(error))
    probe.close()
    mailbox = parseaddr(config.newsletter.sender)[1]
    key = dkim_key(config, mailbox.rpartition("@")[2])
    pattern = config.delivery.return_path

    def verp(delivery: Delivery) -> str:
        return return_path(pattern, signer, delivery.id)

    readers = ReaderRuns(run, engine)

    def compose(delivery: Delivery) -> tuple[bytes, str]:
        return readers.of(delivery.subscriber_id).compose(
            recipient_for(config, signer, delivery.email, delivery.subscriber_id), key
        )

    def send_here(connections: int, shown: Callable[[DeliveryReport, int], None]) -> DeliveryReport:
        owner = new_owner()
        lease = timedelta(seconds=config.delivery.lease_seconds)
        batches = claimer(engine, owner, settings.batch, lease, clock, digest_id, once_each=True)
        with heartbeat(engine, owner, lease, clock):
            return deliver(
                engine, batches, compose, connector, verp, owner,
                settings._replace(connections=connections), clock, shown, stop,
                total=queued, ticks=ticks,
            )  # fmt: skip

    processes = config.delivery.processes
    if processes > 1:
        try:
            return send_in_processes(
                config, engine, digest_id, processes, progress, stop, clock, send_here
            )
        except ProcessFailed as error:
            raise SendRefused(str(error)) from None
    report = send_here(settings.connections, progress)
    report.left = delivery_counts(engine, digest_id)["queued"]
    if report.left == 0:
        finish_digest(engine, digest_id, clock())
    return report


def freeze_audience(
    run: DigestRun, engine: Engine, now: datetime, due: datetime | None = None
) -> int:
    """The digest's id in the ledger, its audience frozen into queued deliveries the first
    time (a test may kill the process inside that transaction: PRESS_KILL_AT)."""
    digest = run.digest
    one_post = digest.newsletter.cadence == "post"
    keys = post_keys(run.config.site, digest.posts[0]) if one_post else ()
    present = None
    if digest.newsletter.choose_categories:
        present = sorted({c.slug for post in digest.posts for c in post.categories})
    digest_id, _ = open_digest(
        engine, digest.key, digest.newsletter.id, str(digest.week), run.rendered.subject,
        now, due, freezing=lambda: reached("digest:freezing"), post_keys=keys,
        present=present,
    )  # fmt: skip
    reached("digest:frozen")
    return digest_id


def outbox_digest(run: DigestRun, engine: Engine, folder: Path, signer: Signer) -> list[Path]:
    """Write the digest into ``folder`` for each confirmed subscriber of its newsletter,
    as each chose it (``--outbox``, or ``press run`` with no SMTP server): the readers the
    ledger would freeze, and no file for a reader with nothing in it."""
    subscribers = list_subscribers(engine, "confirmed", run.digest.newsletter.id)
    emails = [(s.email, s.id) for s in subscribers]
    return write_outbox(run, folder, signer, emails, ReaderRuns(run, engine))


def send_confirmation(
    config: Config, subscriber: Subscriber, categories: list[str], now: datetime, outbox: Path
) -> str:
    """Mail (or, with no SMTP server, write to ``outbox``) the double opt-in link, good
    for the subscriber's current version. Returns where it went."""
    connector = smtp_connector(config)
    signer = real_signer(config) if connector else signer_from(config)
    ids = normal_choices(categories)  # newsletter ids (a category's slug, before), narrowed
    subject = confirm_subject(subscriber.id, subscriber.version, ids)
    message = build_confirmation(
        template_env(config),
        config.site,
        config.newsletter.sender,
        subscriber.email,
        config.site.absolute(f"/confirm/{signer.sign('confirm', subject)}"),
        [about(newsletter_of(config, parse_choice(i)[0]).title) for i in ids],
        config.subscribers.confirm_hours,
        now,
    )
    data = message_bytes(message)
    if connector is None:
        path = outbox / f"confirm-{subscriber.email}.eml"
        write_atomic(path, data)
        return str(path)
    transport = connector()
    try:
        transport.send(parseaddr(config.newsletter.sender)[1], subscriber.email, data)
    finally:
        transport.close()
    return f"sent to {subscriber.email}"


def queue_digest(
    config: Config, run: DigestRun, engine: Engine, clock: Callable[[], datetime] = utc_now
) -> int:
    """Freeze the audience of a digest into queued deliveries for workers; returns how many
    are queued."""
    return delivery_counts(engine, freeze_audience(run, engine, clock()))["queued"]
