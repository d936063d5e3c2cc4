"""The database: its tables, connecting and migrating (SQLAlchemy Core, Alembic), and the
subscribers. The digests are ``newsletter.ledger``, the deliveries
``newsletter.deliveries``.

Every function takes an ``Engine`` and plain values and returns plain records. The same
queries run on SQLite (the default) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, CursorResult, Dialect
from sqlalchemy.exc import DBAPIError

from newsletter.statuses import LEFT

MIGRATIONS = Path(__file__).parent / "migrations"


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
subscriptions = Table(  # the newsletters (by id) each subscriber gets
    "subscriptions",
    metadata,
    Column("subscriber_id", Integer, ForeignKey("subscribers.id"), primary_key=True),
    Column("newsletter", String(200), primary_key=True),
)
subscription_categories = Table(  # a newsletter narrowed by its reader: none, all of it
    "subscription_categories",
    metadata,
    Column("subscriber_id", Integer, primary_key=True),
    Column("newsletter", String(200), primary_key=True),
    Column("category", String(200), primary_key=True),  # a slug
    ForeignKeyConstraint(
        ["subscriber_id", "newsletter"],
        ["subscriptions.subscriber_id", "subscriptions.newsletter"],
        ondelete="CASCADE",
    ),
)
newsletter_posts = Table(  # what a post newsletter has emailed, by each name of the post
    "newsletter_posts",
    metadata,
    Column("newsletter", String(200), primary_key=True),
    Column("post_key", String(80), primary_key=True),
    Column("digest_id", Integer, ForeignKey("digests.id")),
    Column("seen_at", UtcDateTime, nullable=False),
)
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("newsletter", String(200), nullable=False),
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

bounce_events = Table(
    "bounce_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("delivery_id", Integer, ForeignKey("deliveries.id")),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id")),
    Column("status", String(16), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("outcome", String(32), nullable=False, default=""),
    Column("received_at", UtcDateTime, nullable=False),
)


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    status: str
    newsletters: tuple[str, ...]  # the ids of the newsletters they get
    source: str
    subscribed_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    hard_bounces: int
    version: int = 0
    narrowed: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (newsletter, category slugs)

    @property
    def choices(self) -> tuple[str, ...]:
        """Each newsletter they get as a choice: ``asia-weekly``, or narrowed to some of
        its categories, ``asia-weekly:china-us+trade``."""
        narrowed = dict(self.narrowed)
        return tuple(choice_text(n, narrowed.get(n, ())) for n in self.newsletters)


def parse_choice(entry: str) -> tuple[str, tuple[str, ...]]:
    """``asia-weekly:china-us+trade`` as the newsletter and its chosen categories (none:
    all of them); the forms, confirm links and the CSV carry choices so."""
    newsletter, _, categories = entry.partition(":")
    return newsletter, tuple(sorted({c for c in categories.split("+") if c}))


def choice_text(newsletter: str, categories: Sequence[str] = ()) -> str:
    return f"{newsletter}:{'+'.join(sorted(categories))}" if categories else newsletter


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
            # A checkpoint (and its fsync) every 10,000 pages of log, not 1,000: a send
            # marks a row a message, and 10,000 messages had cost 174 of them.
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            cursor.close()

    return engine


def head_revision() -> str:
    """The newest migration's revision, from its file name (``0006_newsletters.py`` is
    revision ``0006``; a test holds every file to that)."""
    return max(p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (Alembic ``upgrade head``); safe to run every time.
    A database already at the head is seen from its version row, without loading
    Alembic (a tenth of a second on every command that opens the database)."""
    with engine.connect() as connection:
        try:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:
            found = []
        if [tuple(row) for row in found] == [(head_revision(),)]:
            return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def inserted_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None, "an insert without a primary key"
    return int(key[0])


# Subscribers -----------------------------------------------------------------------


def _subscriptions(connection: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = connection.execute(
            select(subscriptions.c.subscriber_id, subscriptions.c.newsletter)
            .where(subscriptions.c.subscriber_id.in_(ids))
            .order_by(subscriptions.c.newsletter)
        )
        for subscriber_id, newsletter in rows:
            found[subscriber_id].append(newsletter)
    return {i: tuple(c) for i, c in found.items()}


def _narrowed(
    connection: Connection, ids: Sequence[int]
) -> dict[int, tuple[tuple[str, tuple[str, ...]], ...]]:
    found: dict[int, dict[str, list[str]]] = {i: {} for i in ids}
    if ids:
        rows = connection.execute(
            select(
                subscription_categories.c.subscriber_id,
                subscription_categories.c.newsletter,
                subscription_categories.c.category,
            )
            .where(subscription_categories.c.subscriber_id.in_(ids))
            .order_by(subscription_categories.c.newsletter, subscription_categories.c.category)
        )
        for subscriber_id, newsletter, category in rows:
            found[subscriber_id].setdefault(newsletter, []).append(category)
    return {i: tuple((n, tuple(c)) for n, c in d.items()) for i, d in found.items()}


def narrowing(engine: Engine, newsletter: str) -> dict[int, frozenset[str]]:
    """The subscribers who narrowed ``newsletter`` to some of its categories: theirs."""
    found: dict[int, set[str]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                subscription_categories.c.subscriber_id, subscription_categories.c.category
            ).where(subscription_categories.c.newsletter == newsletter)
        )
        for subscriber_id, category in rows:
            found.setdefault(subscriber_id, set()).add(category)
    return {i: frozenset(c) for i, c in found.items()}


def _write_choices(connection: Connection, subscriber_id: int, choices: Iterable[str]) -> None:
    """Their subscriptions become ``choices``: newsletters not chosen are dropped, the
    chosen ones added, and each one's narrowing set as chosen."""
    wanted = dict(parse_choice(c) for c in choices)
    connection.execute(
        subscription_categories.delete().where(
            subscription_categories.c.subscriber_id == subscriber_id
        )
    )
    connection.execute(
        subscriptions.delete().where(
            subscriptions.c.subscriber_id == subscriber_id,
            subscriptions.c.newsletter.not_in(list(wanted)),
        )
    )
    have = set(
        connection.execute(
            select(subscriptions.c.newsletter).where(subscriptions.c.subscriber_id == subscriber_id)
        ).scalars()
    )
    new = [{"subscriber_id": subscriber_id, "newsletter": n} for n in wanted if n not in have]
    if new:
        connection.execute(insert(subscriptions), new)
    narrowed = [
        {"subscriber_id": subscriber_id, "newsletter": n, "category": c}
        for n, categories in wanted.items()
        for c in categories
    ]
    if narrowed:
        connection.execute(insert(subscription_categories), narrowed)


def _subscribers(connection: Connection, rows: Sequence[Any]) -> list[Subscriber]:
    newsletters = _subscriptions(connection, [row.id for row in rows])
    narrowed = _narrowed(connection, [row.id for row in rows])
    return [
        Subscriber(
            id=row.id,
            email=row.email,
            status=row.status,
            newsletters=newsletters[row.id],
            narrowed=narrowed[row.id],
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
    newsletters: Iterable[str],
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
    if status in LEFT:
        values["unsubscribed_at"] = now
    new_id = inserted_id(connection.execute(insert(subscribers).values(**values)))
    _write_choices(connection, new_id, newsletters)
    return new_id


def reactivate(engine: Engine, email: str, now: datetime) -> bool:
    """A suppressed address mailed again: confirmed from ``now``, its bounce count
    cleared (soft bounces count only since it was confirmed: ``bounce_store``)."""
    with engine.begin() as connection:
        result = connection.execute(
            update(subscribers)
            .where(subscribers.c.email == email)
            .values(status="confirmed", confirmed_at=now, unsubscribed_at=None, hard_bounces=0)
        )
    return bool(result.rowcount)


def set_status(engine: Engine, email: str, status: str, now: datetime) -> bool:
    """Move a subscriber to ``confirmed`` or ``unsubscribed``; False if there is none."""
    values: dict[str, Any] = {"status": status}
    if status == "confirmed":
        values["confirmed_at"] = now
    elif status in LEFT:
        values["unsubscribed_at"] = now
        values["version"] = subscribers.c.version + 1  # older confirmation links: void
    with engine.begin() as connection:
        result = connection.execute(
            update(subscribers).where(subscribers.c.email == email).values(**values)
        )
    return bool(result.rowcount)


def set_newsletters(engine: Engine, email: str, choices: Iterable[str]) -> bool:
    """Replace the newsletters a subscriber gets, each as a choice (``parse_choice``);
    False if there is no such subscriber."""
    with engine.begin() as connection:
        row = connection.execute(
            select(subscribers.c.id).where(subscribers.c.email == email)
        ).first()
        if row is None:
            return False
        _write_choices(connection, row.id, choices)
    return True


def list_subscribers(
    engine: Engine, status: str | None = None, newsletter: str | None = None, batch: int = 1000
) -> Iterator[Subscriber]:
    """Subscribers by id, read in batches so memory stays flat however long the list."""
    after = 0
    while True:
        query = select(subscribers).where(subscribers.c.id > after)
        if status:
            query = query.where(subscribers.c.status == status)
        if newsletter:
            query = query.where(
                subscribers.c.id.in_(
                    select(subscriptions.c.subscriber_id).where(
                        subscriptions.c.newsletter == newsletter
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
