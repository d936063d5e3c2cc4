"""The database: subscribers, digests and deliveries (SQLAlchemy Core, Alembic migrations).

Every function takes an ``Engine`` and plain values and returns plain records. The same
queries run on SQLite (the default) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.exc import IntegrityError

MIGRATIONS = Path(__file__).parent / "migrations"
STATUSES = ("pending", "confirmed", "unsubscribed", "bounced")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("source", String(200), nullable=False, default=""),
    Column("subscribed_at", UtcDateTime, nullable=False),
    Column("confirmed_at", UtcDateTime),
    Column("unsubscribed_at", UtcDateTime),
    Column("hard_bounces", Integer, nullable=False, default=0),
    # Moves on when the subscriber leaves or bounces: older confirmation links stop working.
    Column("version", Integer, nullable=False, default=0),
)
subscriber_categories = Table(
    "subscriber_categories",
    metadata,
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), primary_key=True),
    Column("category", String(200), primary_key=True),
)
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("category", String(200), nullable=False),
    Column("week", String(10), nullable=False),
    Column("subject", String(998), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("due_at", UtcDateTime),  # a scheduled digest's time: its grace runs from here
    Column("skipped_at", UtcDateTime),
    Column("skip_reason", Text),
)
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("digest_id", Integer, ForeignKey("digests.id"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("status", String(16), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("message_id", String(998)),
    Column("reply", Text),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("lease_owner", String(200)),
    Column("lease_expires", UtcDateTime),
)


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    status: str
    categories: tuple[str, ...]
    source: str
    subscribed_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    hard_bounces: int
    version: int = 0


@dataclass(frozen=True)
class Delivery:
    id: int
    subscriber_id: int
    email: str
    attempts: int
    digest_id: int = 0


@dataclass(frozen=True)
class DigestRecord:
    """What the ledger knows of one digest."""

    id: int
    key: str
    category: str
    week: str
    created_at: datetime
    due_at: datetime | None  # None: sent by hand, not by the schedule
    finished_at: datetime | None
    skipped_at: datetime | None
    skip_reason: str

    @property
    def done(self) -> bool:
        """Nothing more will be sent: finished, or skipped."""
        return self.finished_at is not None or self.skipped_at is not None


def connect(url: str) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # No cap on connections beyond the pool's five: press's own threads bound how many
    # it opens (a sender holds one per SMTP connection while a digest goes out).
    engine = create_engine(url, max_overflow=-1)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (Alembic ``upgrade head``); safe to run every time."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an insert without a primary key"
    return int(key[0])


# Subscribers -----------------------------------------------------------------------


def _categories(connection: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = connection.execute(
            select(subscriber_categories.c.subscriber_id, subscriber_categories.c.category)
            .where(subscriber_categories.c.subscriber_id.in_(ids))
            .order_by(subscriber_categories.c.category)
        )
        for subscriber_id, category in rows:
            found[subscriber_id].append(category)
    return {i: tuple(c) for i, c in found.items()}


def _subscribers(connection: Connection, rows: Sequence[Any]) -> list[Subscriber]:
    categories = _categories(connection, [row.id for row in rows])
    return [
        Subscriber(
            id=row.id,
            email=row.email,
            status=row.status,
            categories=categories[row.id],
            source=row.source,
            subscribed_at=row.subscribed_at,
            confirmed_at=row.confirmed_at,
            unsubscribed_at=row.unsubscribed_at,
            hard_bounces=row.hard_bounces,
            version=row.version,
        )
        for row in rows
    ]


def find_subscriber(engine: Engine, email: str) -> Subscriber | None:
    """The subscriber with this address (already normalised), or None."""
    return _find(engine, subscribers.c.email == email)


def subscriber_by_id(engine: Engine, subscriber_id: int) -> Subscriber | None:
    """The subscriber with this id, or None."""
    return _find(engine, subscribers.c.id == subscriber_id)


def _find(engine: Engine, condition: Any) -> Subscriber | None:
    with engine.connect() as connection:
        rows = connection.execute(select(subscribers).where(condition)).all()
        found = _subscribers(connection, rows)
    return found[0] if found else None


def insert_subscriber(
    connection: Connection,
    email: str,
    status: str,
    categories: Iterable[str],
    source: str,
    now: datetime,
) -> int:
    """Add one subscriber inside the caller's transaction; returns its id."""
    values: dict[str, Any] = {
        "email": email,
        "status": status,
        "source": source,
        "subscribed_at": now,
        "hard_bounces": 0,
        "version": 0,
    }
    if status == "confirmed":
        values["confirmed_at"] = now
    if status in ("unsubscribed", "bounced"):
        values["unsubscribed_at"] = now
    new_id = _new_id(connection.execute(insert(subscribers).values(**values)))
    rows = [{"subscriber_id": new_id, "category": c} for c in sorted(set(categories))]
    if rows:
        connection.execute(insert(subscriber_categories), rows)
    return new_id


def set_status(engine: Engine, email: str, status: str, now: datetime) -> bool:
    """Move a subscriber to ``confirmed`` or ``unsubscribed``; False if there is none."""
    values: dict[str, Any] = {"status": status}
    if status == "confirmed":
        values["confirmed_at"] = now
    elif status in ("unsubscribed", "bounced"):
        values["unsubscribed_at"] = now
        values["version"] = subscribers.c.version + 1  # older confirmation links: void
    with engine.begin() as connection:
        result = connection.execute(
            update(subscribers).where(subscribers.c.email == email).values(**values)
        )
    return bool(result.rowcount)


def set_categories(engine: Engine, email: str, categories: Iterable[str]) -> bool:
    """Replace the categories a subscriber receives; False if there is no such subscriber."""
    with engine.begin() as connection:
        row = connection.execute(
            select(subscribers.c.id).where(subscribers.c.email == email)
        ).first()
        if row is None:
            return False
        connection.execute(
            subscriber_categories.delete().where(subscriber_categories.c.subscriber_id == row.id)
        )
        wanted = sorted(set(categories))
        if wanted:
            connection.execute(
                insert(subscriber_categories),
                [{"subscriber_id": row.id, "category": c} for c in wanted],
            )
    return True


def list_subscribers(
    engine: Engine, status: str | None = None, category: str | None = None, batch: int = 1000
) -> Iterator[Subscriber]:
    """Subscribers by id, read in batches so memory stays flat however long the list."""
    after = 0
    while True:
        query = select(subscribers).where(subscribers.c.id > after)
        if status:
            query = query.where(subscribers.c.status == status)
        if category:
            query = query.where(
                subscribers.c.id.in_(
                    select(subscriber_categories.c.subscriber_id).where(
                        subscriber_categories.c.category == category
                    )
                )
            )
        with engine.connect() as connection:
            rows = connection.execute(query.order_by(subscribers.c.id).limit(batch)).all()
            found = _subscribers(connection, rows)
        yield from found
        if len(rows) < batch:
            return
        after = rows[-1].id


# Digests and deliveries -----------------------------------------------------------------


def _record(row: Any) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        key=row.key,
        category=row.category,
        week=row.week,
        created_at=row.created_at,
        due_at=row.due_at,
        finished_at=row.finished_at,
        skipped_at=row.skipped_at,
        skip_reason=row.skip_reason or "",
    )


def find_digest(engine: Engine, key: str) -> DigestRecord | None:
    """The ledger's record of the digest ``key`` (``2022-W37-china-russia``), or None."""
    with engine.connect() as connection:
        row = connection.execute(select(digests).where(digests.c.key == key)).first()
    return _record(row) if row is not None else None


def open_records(engine: Engine) -> list[DigestRecord]:
    """Digests neither finished nor skipped, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(digests)
            .where(digests.c.finished_at.is_(None), digests.c.skipped_at.is_(None))
            .order_by(digests.c.id)
        ).all()
    return [_record(row) for row in rows]


def open_digest(
    engine: Engine,
    key: str,
    category: str,
    week: str,
    subject: str,
    now: datetime,
    due: datetime | None = None,
    freezing: Callable[[], None] = lambda: None,
) -> tuple[int, bool]:
    """The digest's id, creating it and its deliveries the first time.

    The audience is frozen then: one queued row per confirmed subscriber of the category,
    all in one transaction (``freezing`` is called inside it, before the commit). Later
    calls return the same digest and add no one. ``due`` is the schedule's time for it.
    """
    found = find_digest(engine, key)
    if found is not None:
        return found.id, False
    try:
        with engine.begin() as connection:
            digest_id = _new_id(
                connection.execute(
                    insert(digests).values(
                        key=key,
                        category=category,
                        week=week,
                        subject=subject,
                        created_at=now,
                        due_at=due,
                    )
                )
            )
            _freeze_audience(connection, digest_id, category, now)
            freezing()
    except IntegrityError:  # another process opened it first: theirs is the one
        found = find_digest(engine, key)
        if found is None:
            raise
        return found.id, False
    return digest_id, True


def _freeze_audience(connection: Connection, digest_id: int, category: str, now: datetime) -> None:
    audience = (
        select(
            literal(digest_id, Integer),
            subscribers.c.id,
            subscribers.c.email,
            literal("queued", String),
            literal(0, Integer),
            literal(now, UtcDateTime),
            literal(now, UtcDateTime),
        )
        .select_from(subscribers.join(subscriber_categories))
        .where(
            and_(
                subscribers.c.status == "confirmed",
                subscriber_categories.c.category == category,
            )
        )
        .order_by(subscribers.c.id)
    )
    connection.execute(
        insert(deliveries).from_select(
            [
                "digest_id",
                "subscriber_id",
                "email",
                "status",
                "attempts",
                "created_at",
                "updated_at",
            ],
            audience,
        )
    )


def skip_digest(
    engine: Engine,
    key: str,
    category: str,
    week: str,
    reason: str,
    now: datetime,
    due: datetime | None = None,
) -> int:
    """Record a digest as skipped, with the reason: its queued deliveries are skipped too
    (a worker that holds one finds so before it sends). Returns how many were still queued.
    A digest never opened is recorded with no deliveries."""
    with engine.begin() as connection:
        row = connection.execute(select(digests.c.id).where(digests.c.key == key)).first()
        if row is None:
            connection.execute(
                insert(digests).values(
                    key=key,
                    category=category,
                    week=week,
                    subject="",
                    created_at=now,
                    due_at=due,
                    skipped_at=now,
                    skip_reason=reason,
                )
            )
            return 0
        connection.execute(
            update(digests)
            .where(digests.c.id == row.id, digests.c.finished_at.is_(None))
            .values(skipped_at=now, skip_reason=reason)
        )
        result = connection.execute(
            update(deliveries)
            .where(deliveries.c.digest_id == row.id, deliveries.c.status == "queued")
            .values(status="skipped", error=reason, updated_at=now)
        )
    return int(result.rowcount)


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


def delivery_counts(engine: Engine, digest_id: int) -> dict[str, int]:
    """How many deliveries of a digest are in each state."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.digest_id == digest_id)
            .group_by(deliveries.c.status)
        )
        counts = {"queued": 0, "sent": 0, "failed": 0, "skipped": 0}
        counts.update({status: int(n) for status, n in rows})
    return counts


def failures_since(
    engine: Engine, digest_id: int, since: datetime
) -> tuple[list[tuple[str, str]], int]:
    """A digest's deliveries that failed since ``since`` (address, reason), and how many
    of those addresses are now bounced."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(deliveries.c.email, deliveries.c.error, subscribers.c.status)
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(
                deliveries.c.digest_id == digest_id,
                deliveries.c.status == "failed",
                deliveries.c.updated_at >= since,
            )
            .order_by(deliveries.c.id)
        ).all()
    return [(r.email, r.error or "") for r in rows], sum(r.status == "bounced" for r in rows)


def finish_digest(engine: Engine, digest_id: int, now: datetime) -> None:
    """Record that nothing of a digest is left to send (a skipped one stays skipped)."""
    with engine.begin() as connection:
        connection.execute(
            update(digests)
            .where(
                digests.c.id == digest_id,
                digests.c.finished_at.is_(None),
                digests.c.skipped_at.is_(None),
            )
            .values(finished_at=now)
        )


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


def digest_of(engine: Engine, digest_id: int) -> tuple[str, str, str]:
    """``(key, week, category)`` of a digest."""
    with engine.connect() as connection:
        row = connection.execute(
            select(digests.c.key, digests.c.week, digests.c.category).where(
                digests.c.id == digest_id
            )
        ).one()
    return row.key, row.week, row.category


def queued_count(engine: Engine) -> int:
    """Deliveries of every digest still waiting to go."""
    with engine.connect() as connection:
        found = connection.execute(
            select(func.count()).select_from(deliveries).where(deliveries.c.status == "queued")
        ).scalar()
    return int(found or 0)
