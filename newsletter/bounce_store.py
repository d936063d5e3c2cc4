"""Acting on what came back (``newsletter.bounces``), once per message.

Each message is one transaction: its row in ``bounce_events`` (unique by the message's
key) and what it does to its subscriber commit together, so a crash leaves it either
handled or not at all, and handling it again changes nothing.

- A hard bounce counts towards ``delivery.bounce_limit``, as a 5xx in the session does.
- A soft bounce counts within ``delivery.soft_bounce_days``: ``soft_bounce_limit`` of
  them in that window suppress the address.
- A complaint suppresses at once (status ``complained``): that person asked for no more.
- Mail to a subscriber's own unsubscribe address (List-Unsubscribe's ``mailto:``)
  unsubscribes them, as the link does.
- Anything else (an auto-reply, a delay notice, mail naming no delivery press sent) is
  recorded and changes nothing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from newsletter.bounces import Verdict
from newsletter.store import bounce_events, deliveries, subscribers

log = logging.getLogger(__name__)

OUTCOMES = (
    "bounced",  # this made the address bounced
    "complained",  # a complaint: the address is suppressed
    "unsubscribed",  # mail to the subscriber's own unsubscribe address
    "counted",  # a bounce, counted; the address is still mailed
    "ignored",  # an auto-reply, a delay notice or other mail: nothing to do
    "unknown",  # names no delivery press sent (a forged or foreign address)
    "duplicate",  # handled before
)


@dataclass(frozen=True)
class BounceRules:
    """When bounces suppress an address (``[delivery]`` settings)."""

    hard_limit: int
    soft_limit: int
    soft_days: int


@dataclass
class BounceReport:
    """What a run of ``press bounces`` did, by outcome and by kind."""

    outcomes: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        """One message, its verdict's ``kind`` (not counted for one handled before)."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome != "duplicate":
            self.kinds[kind] = self.kinds.get(kind, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def summary(self) -> str:
        """``read 12 messages: 3 hard bounces, 1 soft, 1 complaint …; 1 now bounced``."""
        names = {  # kind: (one, many)
            "hard": ("hard bounce", "hard bounces"),
            "soft": ("soft bounce", "soft bounces"),
            "complaint": ("complaint", "complaints"),
            "unsubscribe": ("unsubscribe by email", "unsubscribes by email"),
            "delayed": ("delay notice", "delay notices"),
            "auto-reply": ("auto-reply", "auto-replies"),
            "unrelated": ("other", "other"),
        }
        order = list(names)
        kinds = [
            f"{count:,} {names[kind][count != 1]}"
            for kind, count in sorted(self.kinds.items(), key=lambda item: order.index(item[0]))
        ]
        notes = [
            f"{self.outcomes[name]:,} {text}"
            for name, text in (
                ("bounced", "now bounced"),
                ("complained", "unsubscribed for complaining"),
                ("unsubscribed", "unsubscribed"),
                ("unknown", "naming no delivery press sent (ignored)"),
                ("duplicate", "handled before"),
            )
            if self.outcomes.get(name)
        ]
        count = self.total
        head = f"read {count:,} message{'s' if count != 1 else ''}"
        head += ": " + ", ".join(kinds) if kinds else ""
        return head + ("; " + ", ".join(notes) if notes else "")


def handle(engine: Engine, verdict: Verdict, rules: BounceRules, now: datetime) -> str:
    """Act on one message's verdict, once; returns the outcome (one of ``OUTCOMES``).

    What it does and its row commit together; a message handled before fails on the
    row's unique key, and what it did is rolled back with it."""
    try:
        with engine.begin() as connection:
            subscriber_id = verdict.subscriber_id
            if verdict.delivery_id is not None:
                subscriber_id = connection.execute(
                    select(deliveries.c.subscriber_id).where(deliveries.c.id == verdict.delivery_id)
                ).scalar()
            outcome = _outcome(verdict, subscriber_id)
            if outcome == "counted" and subscriber_id is not None:
                outcome = _count(connection, verdict, subscriber_id, rules, now)
            elif outcome in ("unsubscribed", "complained") and subscriber_id is not None:
                _leave(connection, subscriber_id, outcome, now)
            connection.execute(
                insert(bounce_events).values(
                    key_hash=_hash(verdict.key),
                    kind=verdict.kind,
                    delivery_id=verdict.delivery_id if subscriber_id is not None else None,
                    subscriber_id=subscriber_id,
                    status=verdict.status[:16],
                    detail=verdict.detail[:500],
                    outcome=outcome,
                    received_at=now,
                )
            )
    except IntegrityError as error:  # the same message, handled before (or another run's now)
        if not handled_before(engine, verdict.key):
            raise  # another constraint: a bug to see, not a message to drop
        log.debug("already handled: %s (%s)", verdict.key, error.orig)
        return "duplicate"
    if outcome == "unknown" and verdict.counts:
        log.warning("a %s names no delivery press sent (forged, or for another sender): %s",
                    verdict.kind, verdict.key)  # fmt: skip
    return outcome


def handled_before(engine: Engine, key: str) -> bool:
    """Whether the message with this key (``bounces.message_key``) has been handled."""
    with engine.connect() as connection:
        found = connection.execute(
            select(bounce_events.c.id).where(bounce_events.c.key_hash == _hash(key))
        ).first()
    return found is not None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def _outcome(verdict: Verdict, subscriber_id: int | None) -> str:
    if not verdict.counts:
        return "ignored"
    if subscriber_id is None:
        return "unknown"
    return {"complaint": "complained", "unsubscribe": "unsubscribed"}.get(verdict.kind, "counted")


def _leave(connection: Connection, subscriber_id: int, status: str, now: datetime) -> None:
    """The subscriber ``unsubscribed`` or ``complained``, if they were still on the list."""
    connection.execute(
        update(subscribers)
        .where(
            subscribers.c.id == subscriber_id,
            subscribers.c.status.in_(("confirmed", "pending")),
        )
        .values(status=status, unsubscribed_at=now, version=subscribers.c.version + 1)
    )


def _count(
    connection: Connection, verdict: Verdict, subscriber_id: int, rules: BounceRules, now: datetime
) -> str:
    """A hard or soft bounce of ``subscriber_id``: "bounced" when it crosses its limit."""
    if verdict.kind == "hard":
        connection.execute(
            update(subscribers)
            .where(subscribers.c.id == subscriber_id)
            .values(hard_bounces=subscribers.c.hard_bounces + 1)
        )
        over = subscribers.c.hard_bounces >= rules.hard_limit
    else:
        since = now - timedelta(days=rules.soft_days)
        confirmed = connection.execute(
            select(subscribers.c.confirmed_at).where(subscribers.c.id == subscriber_id)
        ).scalar()
        if confirmed is not None:  # reactivated: what bounced before does not count
            since = max(since, confirmed)
        soft = connection.execute(
            select(func.count())
            .select_from(bounce_events)
            .where(
                bounce_events.c.subscriber_id == subscriber_id,
                bounce_events.c.kind == "soft",
                bounce_events.c.received_at >= since,
            )
        ).scalar_one()
        if soft + 1 < rules.soft_limit:  # with this one, whose row comes after
            return "counted"
        over = subscribers.c.id == subscriber_id
    bounced = connection.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id, over, subscribers.c.status == "confirmed")
        .values(status="bounced", unsubscribed_at=now, version=subscribers.c.version + 1)
    )
    return "bounced" if bounced.rowcount else "counted"
