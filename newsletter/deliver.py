"""The sender: works through a digest's queued deliveries with a pool of SMTP connections.

The deliveries table is the source of truth. A row is marked sent only after the
server's 250 reply, at once, by the thread that sent it, one row per message. At most
``connections`` messages are ever in flight (handed to a connection and not yet
recorded), so a crash at any moment re-sends at most that many on the next run, and
skips no one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from newsletter.smtp import PermanentFailure, TemporaryFailure, Transport
from newsletter.store import (
    Delivery,
    mark_deferred,
    mark_failed,
    mark_sent,
    mark_skipped,
    queued,
    still_subscribed,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliverySettings:
    connections: int = 4
    rate: float = 0.0  # messages a second across all connections; 0: no limit
    batch: int = 500
    retries: int = 3  # tries of one message in one run before it waits for the next run
    backoff: float = 1.0  # seconds before the second try, doubling after
    bounce_limit: int = 3  # hard failures before a subscriber is marked bounced


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    kind: str  # "sent", "failed" or "deferred"
    detail: str
    tries: int
    message_id: str = ""


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    skipped: int = 0
    bounced: int = 0
    left: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


Compose = Callable[[Delivery], tuple[bytes, str]]


class _RateLimit:
    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        if self.interval:
            now = time.monotonic()
            if self.next > now:
                time.sleep(self.next - now)
            self.next = max(self.next, now) + self.interval


Batches = Callable[[], list[Delivery]]


def local_batches(engine: Engine, digest_id: int, size: int) -> Batches:
    """A digest's queued deliveries in id order, for one sending process."""
    after = 0

    def next_batch() -> list[Delivery]:
        nonlocal after
        batch = queued(engine, digest_id, after, size)
        if batch:
            after = batch[-1].id
        return batch

    return next_batch


def deliver(
    engine: Engine,
    batches: Batches,
    compose: Compose,
    connect: Callable[[], Transport],
    sender: str,
    settings: DeliverySettings,
    clock: Callable[[], datetime],
    progress: Callable[[DeliveryReport, int], None] = lambda report, total: None,
    stop: threading.Event | None = None,
    total: int = 0,
) -> DeliveryReport:
    """Send every delivery that ``batches`` hands out, until it hands out none.

    ``compose`` makes one delivery's message bytes and Message-ID; ``connect`` makes one
    SMTP connection for each sending thread. Setting ``stop`` lets the messages in flight
    finish and leaves the rest queued.
    """
    report = DeliveryReport()
    local = threading.local()
    opened: list[Transport] = []
    databases: list[Connection] = []
    lock = threading.Lock()

    def transport() -> Transport:
        if getattr(local, "transport", None) is None:
            local.transport = connect()
            with lock:
                opened.append(local.transport)
        found: Transport = local.transport
        return found

    def database() -> Connection:
        """The thread's own database connection, kept for the send: a connection from the
        pool for each outcome cost as much as the rest of recording it."""
        if getattr(local, "database", None) is None:
            local.database = engine.connect()
            with lock:
                databases.append(local.database)
        found: Connection = local.database
        return found

    # SQLite has one writer at a time: the sending threads take turns here rather than in
    # SQLite's busy handler, which sleeps.
    writing = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    def send_one(delivery: Delivery) -> tuple[Outcome, bool]:
        """Send one message and record the outcome, in the connection's own thread (so
        the main thread never holds a finished message up)."""
        data, message_id = compose(delivery)
        outcome = Outcome(delivery, "deferred", "", settings.retries, message_id)
        for attempt in range(1, settings.retries + 1):
            try:
                reply = transport().send(sender, delivery.email, data)
                outcome = Outcome(delivery, "sent", reply, attempt, message_id)
                break
            except PermanentFailure as error:
                outcome = Outcome(delivery, "failed", str(error), attempt, message_id)
                break
            except TemporaryFailure as error:
                outcome = Outcome(delivery, "deferred", str(error), attempt, message_id)
                if attempt < settings.retries and not (stop and stop.is_set()):
                    time.sleep(settings.backoff * 2 ** (attempt - 1))
        return outcome, record(outcome)

    def record(outcome: Outcome) -> bool:
        """Write the outcome to the deliveries table; True if the address now bounces."""
        delivery, now = outcome.delivery, clock()
        with writing:
            db = database()
            if outcome.kind == "sent":
                mark_sent(db, delivery.id, outcome.detail, outcome.message_id, now)
            elif outcome.kind == "failed":
                return mark_failed(
                    db, delivery.id, outcome.detail, outcome.tries, settings.bounce_limit, now
                )
            else:
                mark_deferred(db, delivery.id, outcome.detail, outcome.tries, now)
        return False

    def tally(future: Future[tuple[Outcome, bool]]) -> None:
        outcome, bounced = future.result()  # an SmtpError or database error stops the run
        delivery = outcome.delivery
        if outcome.kind == "sent":
            report.sent += 1
        elif outcome.kind == "failed":
            report.failed += 1
            report.bounced += int(bounced)
            report.failures.append((delivery.email, outcome.detail))
            log.info("delivery to %s failed: %s", delivery.email, outcome.detail)
        else:
            report.deferred += 1
            log.info("delivery to %s deferred: %s", delivery.email, outcome.detail)

    limit = _RateLimit(settings.rate)
    pending: set[Future[tuple[Outcome, bool]]] = set()
    executor = ThreadPoolExecutor(max_workers=settings.connections, thread_name_prefix="smtp")

    def settle() -> None:
        """Wait for at least one send to finish (sent and recorded)."""
        done, _ = wait(pending, return_when=FIRST_COMPLETED)
        pending.difference_update(done)
        for future in done:
            tally(future)

    def drain() -> None:
        while pending:
            settle()

    try:
        while not (stop and stop.is_set()):
            # Settle what is in flight before asking for more: a worker waiting for the
            # queue to empty must not wait on its own unrecorded messages.
            drain()
            batch = batches()
            if not batch:
                break
            staying = still_subscribed(engine, [d.subscriber_id for d in batch])
            departed = [d.id for d in batch if d.subscriber_id not in staying]
            report.skipped += mark_skipped(engine, departed, clock())
            for delivery in batch:
                if stop and stop.is_set():
                    break
                if delivery.subscriber_id not in staying:
                    continue
                while len(pending) >= settings.connections:
                    settle()
                limit.wait()
                pending.add(executor.submit(send_one, delivery))
            progress(report, total)
        drain()
    finally:
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True)
        for opened_transport in opened:
            opened_transport.close()
        for connection in databases:
            connection.close()
    progress(report, total)
    return report
