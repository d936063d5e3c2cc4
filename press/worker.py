"""``press deliver``: one of any number of senders sharing the queued deliveries.

Each worker takes a batch under a lease (``SELECT … FOR UPDATE SKIP LOCKED`` on
PostgreSQL), sends it over its own SMTP connections and marks each row as the server
accepts it, while it still holds the lease (``newsletter.leases``). A worker that dies
leaves its batch leased; when the lease ends (``delivery.lease_seconds``) another worker
takes it over, and a worker that wakes from a pause past its lease finds so before its
next message and stops sending that batch.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from email.utils import parseaddr

from newsletter.deliver import DeliveryReport, deliver
from newsletter.deliveries import Delivery, queued_count
from newsletter.leases import claimer, heartbeat, new_owner
from newsletter.ledger import delivery_counts, digest_by_id, finish_digest
from newsletter.verp import return_path
from press.clock import ticks, utc_now
from press.config import Config
from press.digest import ReaderRuns, prepare_recorded, recipient_for
from press.mail import dkim_key, open_store, smtp_connector
from press.send import SendRefused, real_signer

log = logging.getLogger("press.worker")
OUTAGE_PAUSE = (5.0, 300.0)  # seconds a worker waits after an outage: first, at most


def run_worker(
    config: Config,
    stop: threading.Event,
    until_empty: bool = False,
    idle: float = 1.0,
    connections: int | None = None,
) -> DeliveryReport:
    """Send queued deliveries until stopped (or, with ``until_empty``, until none is left),
    with ``connections`` SMTP connections (default ``delivery.connections``).

    When the SMTP server takes nothing, a worker with ``until_empty`` stops (the report
    says why); one without waits, longer each time, and tries again.
    """
    connector = smtp_connector(config)
    if connector is None:
        raise SendRefused(
            "no SMTP server is configured (smtp.url): a worker has nothing to send with"
        )
    signer = real_signer(config)
    engine = open_store(config)
    settings = config.delivery
    if connections is not None:
        settings = settings._replace(connections=connections)
    owner = new_owner()
    lease = timedelta(seconds=config.delivery.lease_seconds)
    mailbox = parseaddr(config.newsletter.sender)[1]
    key = dkim_key(config, mailbox.rpartition("@")[2])
    pattern = config.delivery.return_path

    def verp(delivery: Delivery) -> str:
        return return_path(pattern, signer, delivery.id)

    runs: dict[int, ReaderRuns] = {}

    def run_for(digest_id: int) -> ReaderRuns:
        if digest_id not in runs:
            record = digest_by_id(engine, digest_id)
            runs[digest_id] = ReaderRuns(prepare_recorded(config, record, utc_now()), engine)
            log.info("worker %s: sending digest %s", owner, record.key)
        return runs[digest_id]

    def compose(delivery: Delivery) -> tuple[bytes, str]:
        run = run_for(delivery.digest_id).of(delivery.subscriber_id)
        return run.compose(
            recipient_for(config, signer, delivery.email, delivery.subscriber_id), key
        )

    take = claimer(engine, owner, settings.batch, lease, utc_now)

    def batches() -> list[Delivery]:
        while not stop.is_set():
            batch = take()
            if batch:
                for delivery in batch:  # render once per digest, before the threads start
                    run_for(delivery.digest_id)
                return batch
            if until_empty and queued_count(engine) == 0:
                return []
            stop.wait(idle)  # nothing free now; leased rows come back when leases end
        return []

    total = DeliveryReport()
    pause = OUTAGE_PAUSE[0]
    with heartbeat(engine, owner, lease, utc_now):
        while not stop.is_set():
            report = deliver(
                engine, batches, compose, connector, verp, owner, settings, utc_now,
                stop=stop, ticks=ticks,
            )  # fmt: skip
            for name in ("sent", "failed", "deferred", "skipped", "bounced", "lost"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            total.failures += report.failures
            total.outage = report.outage
            if not report.outage or until_empty:
                break
            log.warning("worker %s: %s; trying again in %.0f s", owner, report.outage, pause)
            stop.wait(pause)
            pause = min(pause * 2, OUTAGE_PAUSE[1])
    for digest_id in runs:
        if delivery_counts(engine, digest_id)["queued"] == 0:
            finish_digest(engine, digest_id, utc_now())
    total.left = queued_count(engine)
    log.info(
        "worker %s: sent %d, failed %d, %d left queued",
        owner,
        total.sent,
        total.failed,
        total.left,
    )
    return total
