"""The sender: works through leased deliveries, keeping several SMTP connections busy
from one thread.

The deliveries table is the source of truth. Just before a message is handed to the
server, its row is read again: a subscriber who has left is skipped, and a row whose
lease this sender no longer holds is not sent. A row is marked sent only after the
server's 250 reply, one row per message, before its connection takes another message,
and only while the lease is still held. At most ``connections`` messages are ever in flight
(checked and handed to a connection, not yet recorded), which bounds both what a crash
can send twice and what an unsubscribe arriving meanwhile can still receive.

When the server takes nothing (every try of several messages in a row deferred: it
refuses connections, or answers 4xx to everything), the run stops at once and leaves
the rest queued: ``DeliveryReport.outage`` says why, and the caller tries again later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sqlalchemy import Engine

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

    def note(self, outcome: Outcome) -> None:
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


@dataclass
class _Slot:
    """One connection and the message it carries (none: free)."""

    transport: Transport
    delivery: Delivery | None = None
    data: bytes = b""
    message_id: str = ""
    attempt: int = 0  # tries so far
    due: float = 0.0  # ticks when the next try may begin
    reply: str = ""
    failure: Exception | None = None  # this try's TemporaryFailure or PermanentFailure
    last: str = ""  # why the last try failed, while the next waits
    broken: bool = False  # the last try met an error that stops the run

    def load(self, delivery: Delivery, data: bytes, message_id: str) -> None:
        self.delivery, self.data, self.message_id = delivery, data, message_id
        self.attempt, self.due, self.reply, self.failure, self.last = 0, 0.0, "", None, ""

    def clear(self) -> None:
        self.delivery, self.data, self.broken = None, b"", False

    def begin(self, envelope_from: Callable[[Delivery], str]) -> None:
        assert self.delivery is not None
        self.transport.begin(envelope_from(self.delivery), self.delivery.email)

    def transfer(self) -> None:
        self.transport.transfer(self.data)

    def end(self) -> None:
        self.reply = self.transport.end()

    @property
    def answered(self) -> bool:
        """This try's message was taken (250)."""
        return self.delivery is not None and self.failure is None and not self.broken

    def sent(self) -> Outcome:
        assert self.delivery is not None
        return Outcome(self.delivery, "sent", self.reply, self.attempt, self.message_id)


def _step(slot: _Slot, errors: list[BaseException], action: Callable[[], None]) -> None:
    """One step of a slot's try, unless an earlier step of it failed: a refusal or a
    lost connection is the slot's (tried again or recorded), anything else the run's."""
    if slot.failure is not None or slot.broken:
        return
    try:
        action()
    except (TemporaryFailure, PermanentFailure) as failure:
        slot.failure = failure
    except Exception as error:
        slot.broken = True
        errors.append(error)


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
    SMTP connection (``settings.connections`` of them); ``envelope_from`` is a
    delivery's envelope sender (``MAIL FROM``: its own, with VERP, ``newsletter.verp``).
    Setting ``stop`` (from another thread, or a signal handler) lets the messages in
    flight finish and leaves the rest queued. ``clock`` gives the time of day (leases,
    records), ``ticks`` seconds for the rate limit and the pauses between tries.
    """
    report = DeliveryReport()
    outage = _Outage(settings.outage_after)
    limit = _RateLimit(settings.rate, ticks)
    slots = [_Slot(connect()) for _ in range(settings.connections)]
    # Two database connections, kept for the send: autocommit for the two statements
    # every message costs (the check, the sent mark: one round trip each), and one for
    # the rarer outcomes.
    autocommit = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    marks, database = Marks(autocommit), engine.connect()
    state = {"lost": False}  # this batch is no longer (all) ours: stop sending it

    def halted() -> bool:
        return outage.tripped.is_set() or bool(stop and stop.is_set())

    def lose(delivery: Delivery, why: str) -> None:
        if not state["lost"]:
            state["lost"] = True
            log.warning(
                "%s lost its lease on delivery %d (%s): stopped sending that batch",
                owner,
                delivery.id,
                why,
            )

    def record(outcome: Outcome) -> tuple[bool, bool]:
        """Write an outcome other than sent (those go a round at a time, ``sent_all``) to
        the deliveries table, fenced by the lease: (held, bounced), held False when the
        lease was lost (nothing written)."""
        delivery, now = outcome.delivery, clock()
        if outcome.kind == "skipped":
            return mark_left(database, delivery.id, owner, now), False
        if outcome.kind == "failed":
            return mark_failed(
                database, delivery.id, owner, outcome.detail, outcome.tries,
                settings.bounce_limit, now,
            )  # fmt: skip
        deferred = mark_deferred(database, delivery.id, owner, outcome.detail, outcome.tries, now)
        return deferred, False

    def tally(outcome: Outcome, bounced: bool = False) -> None:
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

    def finish(slot: _Slot, outcome: Outcome, recorded: tuple[bool, bool] | None = None) -> None:
        """Record a message's last outcome (fenced by the lease; ``recorded``: it was,
        with the others of its round) and free its slot."""
        outage.note(outcome)
        held, bounced = recorded or record(outcome)
        slot.clear()
        if held:
            tally(outcome, bounced)
            return
        delivery = outcome.delivery
        if outcome.kind == "sent":
            log.warning(
                "%s sent to %s after losing the lease on delivery %d: another sender "
                "holds it, so this copy may be a second one",
                owner,
                shown(delivery.email),
                delivery.id,
            )
        lose(delivery, "taken over while it was being sent")
        tally(Outcome(delivery, "lost", outcome.kind, outcome.tries))

    def cleared(slot: _Slot) -> bool:
        """Just before a message's first try, its row is read again: True when it may
        go; else it is recorded as skipped (the subscriber left) or the batch is lost."""
        delivery = slot.delivery
        assert delivery is not None
        verdict = marks.may_send(delivery.id, owner, clock())
        if verdict == "send":
            return True
        slot.clear()
        if verdict == "left":
            skipped = Outcome(delivery, "skipped", "no longer subscribed", 0)
            record(skipped)
            tally(skipped)
        else:
            why = "another sender holds it" if verdict == "lost" else "it is no longer queued"
            lose(delivery, why)
            tally(Outcome(delivery, "lost", verdict, 0))
        return False

    def settle(slot: _Slot) -> None:
        """After a refused or failed try: record what it came to, or keep the message
        for another try."""
        delivery, failure = slot.delivery, slot.failure
        assert delivery is not None and failure is not None
        tries, message_id = slot.attempt, slot.message_id
        if isinstance(failure, PermanentFailure):
            finish(slot, Outcome(delivery, "failed", str(failure), tries, message_id))
        elif tries < settings.retries and not halted():
            slot.due = ticks() + settings.backoff * 2 ** (tries - 1)
            slot.last, slot.failure = str(failure), None
        else:
            finish(slot, Outcome(delivery, "deferred", str(failure), tries, message_id))

    def send_batch(batch: list[Delivery]) -> None:
        """Send a batch with every connection busy, from this one thread, in rounds: each
        connection's next try begins (envelope), then each sends its message, then each
        reads the answer, and every answer is recorded before any connection takes
        another message. So at most ``connections`` messages are in flight, and each is
        marked before the next goes on its connection. (A thread a connection had spent
        more on handing Python's lock between them than on the messages.)"""
        pending = deque(batch)
        composed: deque[tuple[Delivery, bytes, str]] = deque()  # made while the server works
        errors: list[BaseException] = []

        def compose_next(count: int) -> None:
            """Compose up to ``count`` messages ahead. An error waits in ``errors`` until
            the messages in flight are recorded."""
            while len(composed) < count and pending and not (halted() or state["lost"]):
                if errors:
                    return
                delivery = pending.popleft()
                try:
                    composed.append((delivery, *compose(delivery)))
                except Exception as error:
                    errors.append(error)

        while True:
            compose_next(sum(slot.delivery is None for slot in slots))
            if errors:
                raise errors[0]  # nothing in flight now
            for slot in slots:  # the next message of every free connection
                if slot.delivery is None and composed and not (halted() or state["lost"]):
                    slot.load(*composed.popleft())
            busy = [slot for slot in slots if slot.delivery is not None]
            if not busy:
                return
            if halted() or state["lost"]:  # nothing new goes; a try waiting ends here
                for slot in busy:
                    if slot.attempt == 0:
                        slot.clear()  # never tried: stays queued
                    elif slot.due > ticks() or halted():  # its last try's failure stands
                        assert slot.delivery is not None
                        detail = slot.last or "stopped"
                        finish(slot, Outcome(slot.delivery, "deferred", detail, slot.attempt))
                busy = [slot for slot in slots if slot.delivery is not None]
                if not busy:
                    return
            now = ticks()
            ready = [slot for slot in busy if slot.due <= now]
            if not ready:
                outage.tripped.wait(min(slot.due for slot in busy) - now)
                continue
            started = []
            for slot in ready:
                if slot.attempt == 0 and not cleared(slot):
                    continue
                slot.attempt += 1
                limit.wait()
                started.append(slot)
                _step(slot, errors, partial(slot.begin, envelope_from))
            for slot in started:
                _step(slot, errors, slot.transfer)
            compose_next(len(started))  # while the server takes the messages in
            for slot in started:
                _step(slot, errors, slot.end)
            # The round's sent marks in one commit, on the disk before any connection
            # takes another message.
            accepted = [(slot, slot.sent()) for slot in started if slot.answered]
            held = marks.sent_all(
                [(o.delivery.id, o.detail, o.message_id) for _, o in accepted], owner, clock()
            )
            for (slot, outcome), kept in zip(accepted, held, strict=True):
                finish(slot, outcome, (kept, False))
            for slot in started:
                if slot.broken:
                    slot.clear()  # its outcome is unknown: the row stays leased
                elif slot.delivery is not None:
                    settle(slot)
            if errors:
                raise errors[0]  # an SmtpError or database error stops the run

    try:
        while not halted():
            # Everything handed out is settled (sent and recorded) before asking for
            # more: a worker waiting for the queue to empty must not wait on its own
            # unrecorded messages.
            state["lost"] = False
            batch = batches()
            if not batch:
                break
            send_batch(batch)
            progress(report, total)
    finally:
        for slot in slots:
            slot.transport.close()
        autocommit.close()
        database.close()
    if outage.tripped.is_set():
        report.outage = outage.reason
    progress(report, total)
    return report
