"""The deliveries table: one row per (digest, subscriber), taken in batches under a
lease, every write about it fenced by that lease. (The two statements of each message
are ``newsletter.marks``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from newsletter.store import deliveries, subscribers


@dataclass(frozen=True)
class Delivery:
    id: int
    subscriber_id: int
    email: str
    attempts: int
    digest_id: int = 0


# Every write about a leased delivery is fenced: it names the lease's owner, and changes
# nothing if that owner no longer holds the row (its lease ran out and another sender
# took it over). Each returns whether it did.
_HELD = and_(deliveries.c.lease_owner == bindparam("owner"), deliveries.c.status == "queued")

# (Checking a row before its send and marking it sent are ``newsletter.marks``: the two
# statements of every message.)


def mark_deferred(
    connection: Connection, delivery_id: int, owner: str, error: str, tries: int, now: datetime
) -> bool:
    """A temporary failure: stays queued for the next run, with the reason."""
    with connection.begin():
        result = connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, _HELD)
            .values(
                attempts=deliveries.c.attempts + tries,
                error=error,
                updated_at=now,
                lease_owner=None,
                lease_expires=None,
            ),
            {"owner": owner},
        )
    return bool(result.rowcount)


def mark_left(connection: Connection, delivery_id: int, owner: str, now: datetime) -> bool:
    """Skip a delivery whose subscriber left after the audience was frozen."""
    with connection.begin():
        result = connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, _HELD)
            .values(
                status="skipped",
                error="no longer subscribed",
                updated_at=now,
                lease_owner=None,
                lease_expires=None,
            ),
            {"owner": owner},
        )
    return bool(result.rowcount)


def mark_failed(
    connection: Connection,
    delivery_id: int,
    owner: str,
    error: str,
    tries: int,
    bounce_limit: int,
    now: datetime,
) -> tuple[bool, bool]:
    """A permanent failure (5xx): the delivery fails, the subscriber's bounce count grows.

    Returns (held, bounced): whether the lease was still held (nothing is written if not),
    and whether this made the subscriber ``bounced``.
    """
    with connection.begin():
        failed = connection.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, _HELD)
            .values(
                status="failed",
                error=error,
                attempts=deliveries.c.attempts + tries,
                updated_at=now,
                lease_owner=None,
                lease_expires=None,
            )
            .returning(deliveries.c.subscriber_id),
            {"owner": owner},
        ).first()
        if failed is None:
            return False, False
        connection.execute(
            update(subscribers)
            .where(subscribers.c.id == failed.subscriber_id)
            .values(hard_bounces=subscribers.c.hard_bounces + 1)
        )
        bounced = connection.execute(
            update(subscribers)
            .where(
                subscribers.c.id == failed.subscriber_id,
                subscribers.c.hard_bounces >= bounce_limit,
                subscribers.c.status == "confirmed",
            )
            .values(status="bounced", unsubscribed_at=now, version=subscribers.c.version + 1)
        )
    return True, bool(bounced.rowcount)


def claim(
    engine: Engine,
    owner: str,
    limit: int,
    now: datetime,
    lease: timedelta,
    digest_id: int | None = None,
    after: int = 0,
) -> list[Delivery]:
    """Take up to ``limit`` queued deliveries (with ids past ``after``) under a lease, for
    one sender.

    On PostgreSQL the rows are picked with ``FOR UPDATE SKIP LOCKED``, so any number of
    workers on any number of machines take disjoint batches; on SQLite the single
    UPDATE is atomic. A row whose lease ran out (its worker died) is taken again.
    """
    free = or_(deliveries.c.lease_expires.is_(None), deliveries.c.lease_expires < now)
    candidates = (
        select(deliveries.c.id)
        .where(deliveries.c.status == "queued", free, deliveries.c.id > after)
        .order_by(deliveries.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if digest_id is not None:
        candidates = candidates.where(deliveries.c.digest_id == digest_id)
    # The ids are taken in a CTE, evaluated once: "WHERE id IN (subquery … SKIP LOCKED)"
    # may be re-run by the planner and hand the same row to two workers.
    picked = candidates.cte("picked")
    statement = (
        update(deliveries)
        .where(deliveries.c.id == picked.c.id)
        .values(lease_owner=owner, lease_expires=now + lease)
        .returning(
            deliveries.c.id,
            deliveries.c.subscriber_id,
            deliveries.c.email,
            deliveries.c.attempts,
            deliveries.c.digest_id,
        )
    )
    with engine.begin() as connection:
        rows = sorted(connection.execute(statement).all(), key=lambda r: r.id)
    return [Delivery(r.id, r.subscriber_id, r.email, r.attempts, r.digest_id) for r in rows]


def renew(engine: Engine, owner: str, until: datetime) -> int:
    """Extend a living worker's leases on its unsent rows (its heartbeat)."""
    with engine.begin() as connection:
        result = connection.execute(
            update(deliveries)
            .where(deliveries.c.lease_owner == owner, deliveries.c.status == "queued")
            .values(lease_expires=until)
        )
    return int(result.rowcount)


def release(engine: Engine, owner: str) -> None:
    """Give back the leases a worker still holds (it is stopping)."""
    with engine.begin() as connection:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.lease_owner == owner, deliveries.c.status == "queued")
            .values(lease_owner=None, lease_expires=None)
        )


def lease_owners(engine: Engine, now: datetime) -> list[str]:
    """Who holds a lease on a queued delivery now."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(deliveries.c.lease_owner)
            .where(
                deliveries.c.status == "queued",
                deliveries.c.lease_expires >= now,
                deliveries.c.lease_owner.is_not(None),
            )
            .distinct()
        )
        return sorted(r.lease_owner for r in rows)


def queued_count(engine: Engine) -> int:
    """Deliveries of every digest still waiting to go."""
    with engine.connect() as connection:
        found = connection.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.status == "queued")
        ).scalar()
    return int(found or 0)
