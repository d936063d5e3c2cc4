"""The sender: works through leased deliveries with a pool of SMTP connections.

The deliveries table is the source of truth. Just before a message is handed to the
server, its row is read again: a subscriber who has left is skipped, and a row whose
lease this sender no longer holds is not sent. A row is marked sent only after the
server's 250 reply, at once, by the thread that sent it, one row per message, and only
while the lease is still held. At most ``connections`` messages are ever in flight
(checked and handed to a connection, not yet recorded), which bounds both what a crash
can send twice and what an unsubscribe arriving meanwhile can still receive.

When the server takes nothing (every try of several messages in a row deferred: it
refuses connections, or answers 4xx to everything), the run stops at once and leaves
the rest queued: ``DeliveryReport.outage`` says why, and the caller tries again later.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from feeds.text import escape_controls as shown
from newsletter.deliveries import Delivery, mark_deferred, mark_failed, mark_left
from newsletter.marks import Marks
from newsletter.model import DeliverySettings
from newsletter.smtp import PermanentFailure, TemporaryFailure, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    # "sent", "failed", "deferred"; "skipped" (the subscriber left); "lost" (the lease
    # is another sender's now, or the row is done): nothing sent, or sent and not ours
    kind: str
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
    lost: int = 0  # rows found to be another sender's (a lease lost) or already done
    failures: list[tuple[str, str]] = field(default_factory=list)
    outage: str = ""  # why sending stopped early: the SMTP server takes no mail


def summary(report: DeliveryReport) -> str:
    """The line a person reads after a send: ``sent 1,698, 2 failed (1 now bounced), 300
    left queued``; what did not happen goes unsaid, but what is left is always told."""
    parts = [f"sent {report.sent:,}"]
    if report.failed:
        bounced = f" ({report.bounced:,} now bounced)" if report.bounced else ""
        parts.append(f"{report.failed:,} failed{bounced}")
    if report.skipped:
        parts.append(f"{report.skipped:,} skipped (unsubscribed since)")
    parts.append(f"{report.left:,} left queued" if report.left else "none left queued")
    return ", ".join(parts)


Compose = Callable[[Delivery], tuple[bytes, str]]


class _RateLimit:
    def __init__(self, rate: float, ticks: Callable[[], float]) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.ticks = ticks
        self.next = ticks()

    def wait(self) -> None:
        if self.interval:
            now = self.ticks()
            if self.next > now:
                time.sleep(self.next - now)
            self.next = max(self.next, now) + self.interval


Batches = Callable[[], list[Delivery]]


class _Outage:
    """Counts deferred messages in a row; trips when the server looks down."""

    def __init__(self, limit: int) -> None:
        self.limit, self.row, self.reason = limit, 0, ""
        self.tripped = threading.Event()
        self.lock = threading.Lock()

    def note(self, outcome: Outcome) -> None:
        with self.lock:
            if outcome.kind in ("sent", "failed"):  # the server answers for itself
                self.row = 0
            elif outcome.kind == "deferred":
                self.row += 1
                if self.row >= self.limit and not self.tripped.is_set():
                    self.reason = (
                        f"{self.row} messages in a row could not be handed over; "
                        f"the last: {outcome.detail}"
                    )
                    self.tripped.set()


def deliver(
    engine: Engine,
    batches: Batches,
    compose: Compose,
    connect: Callable[[], Transport],
    envelope_from: Callable[[Delivery], str],
    owner: str,
    settings: DeliverySettings,
    clock: Callable[[], datetime],
    progress: Callable[[DeliveryReport, int], None] = lambda report, total: None,
    stop: threading.Event | None = None,
    total: int = 0,
    *,
    ticks: Callable[[], float],
) -> DeliveryReport:
    """Send every delivery that ``batches`` hands out (leased to ``owner``), until it
    hands out none.

    ``compose`` makes one delivery's message bytes and Message-ID; ``connect`` makes one
    SMTP connection for each sending thread; ``envelope_from`` is a delivery's envelope
    sender (``MAIL FROM``: its own, with VERP, ``newsletter.verp``). Setting ``stop``
    lets the messages in flight finish and leaves the rest queued. ``clock`` gives the
    time of day (leases, records), ``ticks`` seconds for the rate limit.
    """
    report = DeliveryReport()
    local = threading.local()
    opened: list[Transport] = []
    databases: list[Connection] = []
    lock = threading.Lock()
    outage = _Outage(settings.outage_after)
    lost = threading.Event()  # this batch is no longer (all) ours: stop sending it
    ending = threading.Event()  # a sending thread raised, or the run ends: send no more

    def halted() -> bool:
        return outage.tripped.is_set() or bool(stop and stop.is_set())

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

    def marks() -> Marks:
        """The thread's connection for the two statements of each message (the check
        before the send, marking it sent), in autocommit: one round trip each."""
        if getattr(local, "marks", None) is None:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            with lock:
                databases.append(connection)
            local.marks = Marks(connection)
        found: Marks = local.marks
        return found

    # SQLite has one writer at a time: the sending threads take turns here rather than in
    # SQLite's busy handler, which sleeps.
    writing = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    def lose(delivery: Delivery, why: str) -> None:
        if not lost.is_set():
            lost.set()
            log.warning(
                "%s lost its lease on delivery %d (%s): stopped sending that batch",
                owner,
                delivery.id,
                why,
            )

    def send_one(delivery: Delivery, data: bytes, message_id: str) -> tuple[Outcome, bool]:
        """Check, send and record one composed message, in the connection's own thread (so
        the main thread never holds a finished message up)."""
        if lost.is_set() or halted() or ending.is_set():
            return Outcome(delivery, "unsent", "", 0), False
        verdict = marks().may_send(delivery.id, owner, clock())
        if verdict == "left":
            skipped = Outcome(delivery, "skipped", "no longer subscribed", 0)
            record(skipped)
            return skipped, False
        if verdict != "send":
            why = "another sender holds it" if verdict == "lost" else "it is no longer queued"
            lose(delivery, why)
            return Outcome(delivery, "lost", verdict, 0), False
        outcome = Outcome(delivery, "deferred", "", 0, message_id)
        for attempt in range(1, settings.retries + 1):
            try:
                reply = transport().send(envelope_from(delivery), delivery.email, data)
                outcome = Outcome(delivery, "sent", reply, attempt, message_id)
                break
            except PermanentFailure as error:
                outcome = Outcome(delivery, "failed", str(error), attempt, message_id)
                break
            except TemporaryFailure as error:
                outcome = Outcome(delivery, "deferred", str(error), attempt, message_id)
                pause = settings.backoff * 2 ** (attempt - 1)
                if attempt == settings.retries or outage.tripped.wait(pause) or halted():
                    break
        outage.note(outcome)
        held, bounced = record(outcome)
        if not held:
            if outcome.kind == "sent":
                log.warning(
                    "%s sent to %s after losing the lease on delivery %d: another sender "
                    "holds it, so this copy may be a second one",
                    owner,
                    shown(delivery.email),
                    delivery.id,
                )
            lose(delivery, "taken over while it was being sent")
            return Outcome(delivery, "lost", outcome.kind, outcome.tries), False
        return outcome, bounced

    def record(outcome: Outcome) -> tuple[bool, bool]:
        """Write the outcome to the deliveries table, fenced by the lease: (held, bounced),
        held False when the lease was lost (nothing written)."""
        delivery, now = outcome.delivery, clock()
        with writing:
            if outcome.kind == "sent":
                detail, message_id = outcome.detail, outcome.message_id
                return marks().sent(delivery.id, owner, detail, message_id, now), False
            db = database()
            if outcome.kind == "skipped":
                return mark_left(db, delivery.id, owner, now), False
            if outcome.kind == "failed":
                return mark_failed(
                    db, delivery.id, owner, outcome.detail, outcome.tries,
                    settings.bounce_limit, now,
                )  # fmt: skip
            deferred = mark_deferred(db, delivery.id, owner, outcome.detail, outcome.tries, now)
            return deferred, False

    def tally(result: tuple[Outcome, bool]) -> None:
        outcome, bounced = result
        delivery = outcome.delivery
        if outcome.kind == "sent":
            report.sent += 1
        elif outcome.kind == "failed":
            report.failed += 1
            report.bounced += int(bounced)
            report.failures.append((delivery.email, outcome.detail))
            log.info("delivery to %s failed: %s", shown(delivery.email), shown(outcome.detail))
        elif outcome.kind == "deferred":
            report.deferred += 1
            log.info("delivery to %s deferred: %s", shown(delivery.email), shown(outcome.detail))
        elif outcome.kind == "skipped":
            report.skipped += 1
        elif outcome.kind == "lost":
            report.lost += 1

    limit = _RateLimit(settings.rate, ticks)
    pacing = threading.Lock()
    # The main thread composes each message and puts it on ``work`` (a few ahead: it
    # composes while the connections wait for the server). One long-lived thread per
    # connection takes the next and sees it through (checked, sent, recorded) before it
    # takes another: at most ``connections`` in flight. (A future a message on a thread
    # pool, and waiting on the set of them, had cost as much as the database's part.)
    work: queue.Queue[tuple[Delivery, bytes, str] | None] = queue.Queue(settings.connections)
    results: queue.SimpleQueue[tuple[Outcome, bool] | BaseException] = queue.SimpleQueue()

    def sender() -> None:
        while (item := work.get()) is not None:
            try:
                if not (lost.is_set() or halted()):
                    with pacing:
                        limit.wait()
                results.put(send_one(*item))
            except BaseException as error:  # an SmtpError or database error stops the run
                ending.set()
                results.put(error)

    threads = [
        threading.Thread(target=sender, name=f"smtp-{n}", daemon=True)
        for n in range(settings.connections)
    ]
    for thread in threads:
        thread.start()
    try:
        while not halted():
            # Everything handed out is settled (sent and recorded) before asking for
            # more: a worker waiting for the queue to empty must not wait on its own
            # unrecorded messages.
            lost.clear()
            batch = batches()
            if not batch:
                break
            handed = 0
            for delivery in batch:
                if halted() or lost.is_set() or ending.is_set():
                    break
                work.put((delivery, *compose(delivery)))
                handed += 1
            error: BaseException | None = None
            for _ in range(handed):
                got = results.get()
                if isinstance(got, BaseException):
                    error = error or got
                else:
                    tally(got)
            if error is not None:
                raise error
            progress(report, total)
    finally:
        ending.set()  # what is still on ``work`` (after an error) is not sent
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
        for opened_transport in opened:
            opened_transport.close()
        for connection in databases:
            connection.close()
    if outage.tripped.is_set():
        report.outage = outage.reason
    progress(report, total)
    return report
