"""``press deliver --worker``: one of any number of senders sharing the queued deliveries.

Each worker takes a batch under a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL), sends it over its own SMTP connections and marks each row as the server
accepts it. A worker that dies leaves its batch leased; when the lease ends
(``delivery.lease_seconds``) another worker takes it over.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

from newsletter.deliver import DeliveryReport, deliver
from newsletter.store import (
    Delivery,
    claim,
    delivery_counts,
    digest_of,
    finish_digest,
    queued_count,
    release,
    renew,
)
from press.config import Config
from press.digest import DigestRun, prepare, recipient_for, sender
from press.mail import delivery_settings, dkim_key, open_store, smtp_connector
from press.send import SendRefused, real_signer

log = logging.getLogger("press.worker")


def _now() -> datetime:
    return datetime.now(UTC)


def run_worker(
    config: Config,
    stop: threading.Event,
    until_empty: bool = False,
    idle: float = 1.0,
    connections: int | None = None,
) -> DeliveryReport:
    """Send queued deliveries until stopped (or, with ``until_empty``, until none is left),
    with ``connections`` SMTP connections (default ``delivery.connections``)."""
    connector = smtp_connector(config)
    if connector is None:
        raise SendRefused(
            "no SMTP server is configured (smtp.url): a worker has nothing to send with"
        )
    signer = real_signer(config)
    engine = open_store(config)
    settings = delivery_settings(config)
    if connections is not None:
        settings = dataclasses.replace(settings, connections=connections)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    lease = timedelta(seconds=config["delivery.lease_seconds"])
    mailbox = parseaddr(sender(config))[1]
    key = dkim_key(config, mailbox.rpartition("@")[2])
    runs: dict[int, DigestRun] = {}

    def run_for(digest_id: int) -> DigestRun:
        if digest_id not in runs:
            digest_key, week, category = digest_of(engine, digest_id)
            runs[digest_id], _ = prepare(config, week, category, _now())
            log.info("worker %s: sending digest %s", owner, digest_key)
        return runs[digest_id]

    def compose(delivery: Delivery) -> tuple[bytes, str]:
        run = run_for(delivery.digest_id)
        return run.compose(recipient_for(config, signer, delivery.email), key)

    def batches() -> list[Delivery]:
        while not stop.is_set():
            batch = claim(engine, owner, settings.batch, _now(), lease)
            if batch:
                for delivery in batch:  # render once per digest, before the threads start
                    run_for(delivery.digest_id)
                return batch
            if until_empty and queued_count(engine) == 0:
                return []
            stop.wait(idle)  # nothing free now; leased rows come back when leases end
        return []

    # The heartbeat: while this worker lives its leases never run out, so no other worker
    # sends what it is sending; when it dies they run out within lease_seconds.
    beating = threading.Event()

    def heartbeat() -> None:
        while not beating.wait(lease.total_seconds() / 3):
            renew(engine, owner, _now() + lease)

    pulse = threading.Thread(target=heartbeat, name="lease-heartbeat", daemon=True)
    pulse.start()
    try:
        report = deliver(engine, batches, compose, connector, mailbox, settings, _now, stop=stop)
    finally:
        beating.set()
        pulse.join()
        release(engine, owner)
    for digest_id in runs:
        if delivery_counts(engine, digest_id)["queued"] == 0:
            finish_digest(engine, digest_id, _now())
    report.left = queued_count(engine)
    log.info(
        "worker %s: sent %d, failed %d, %d left queued",
        owner,
        report.sent,
        report.failed,
        report.left,
    )
    return report
