"""The digests table, the ledger: each digest, when it was due, opened (its audience
frozen into deliveries), finished or skipped and why. SQLAlchemy Core, plain records."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    String,
    and_,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from newsletter.store import (
    UtcDateTime,
    deliveries,
    digests,
    inserted_id,
    newsletter_posts,
    subscribers,
    subscription_categories,
    subscriptions,
)


@dataclass(frozen=True)
class DigestRecord:
    """What the ledger knows of one digest."""

    id: int
    key: str
    newsletter: str  # its id
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

    @property
    def period(self) -> str:
        """What its key names before the newsletter: a week, a day, a post's ``post-…``."""
        return self.key.removesuffix(f"-{self.newsletter}")


def _record(row: Any) -> DigestRecord:
    return DigestRecord(
        id=row.id,
        key=row.key,
        newsletter=row.newsletter,
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
    newsletter: str,
    week: str,
    subject: str,
    now: datetime,
    due: datetime | None = None,
    freezing: Callable[[], None] = lambda: None,
    post_keys: Sequence[str] = (),
    present: Sequence[str] | None = None,
) -> tuple[int, bool]:
    """The digest's id, creating it and its deliveries the first time.

    The audience is frozen then: one queued row per confirmed subscriber of the newsletter,
    all in one transaction (``freezing`` is called inside it, before the commit). Later
    calls return the same digest and add no one. ``due`` is the schedule's time for it.
    ``post_keys``: a ``post`` newsletter's email of one post, remembered by those names in
    the same transaction (``known_post``), so the post is never emailed again.
    ``present``: for a newsletter its readers may narrow, the categories (slugs) of its
    posts; a reader who narrowed it to none of them gets nothing this time.
    """
    found = find_digest(engine, key)
    if found is not None:
        return found.id, False
    try:
        with engine.begin() as connection:
            digest_id = inserted_id(
                connection.execute(
                    insert(digests).values(
                        key=key,
                        newsletter=newsletter,
                        week=week,
                        subject=subject,
                        created_at=now,
                        due_at=due,
                    )
                )
            )
            _freeze_audience(connection, digest_id, newsletter, now, present)
            _remember(connection, newsletter, post_keys, digest_id, now)
            freezing()
    except IntegrityError:  # another process opened it first: theirs is the one
        found = find_digest(engine, key)
        if found is None:
            raise
        return found.id, False
    return digest_id, True


def _remember(
    connection: Connection, newsletter: str, keys: Sequence[str], digest_id: int | None,
    now: datetime,
) -> None:  # fmt: skip
    have = set(
        connection.execute(
            select(newsletter_posts.c.post_key).where(
                newsletter_posts.c.newsletter == newsletter,
                newsletter_posts.c.post_key.in_(list(keys)),
            )
        ).scalars()
    )
    rows = [
        {"newsletter": newsletter, "post_key": k, "digest_id": digest_id, "seen_at": now}
        for k in keys
        if k not in have
    ]
    if rows:
        connection.execute(insert(newsletter_posts), rows)


def known_post(
    engine: Engine, newsletter: str, keys: Sequence[str], now: datetime
) -> tuple[bool, int | None]:
    """Whether the ``post`` newsletter has emailed (or written out) a post by any of
    these names, and the id of that email's digest (None: written to the outbox). The
    names not yet known are remembered for it: a post renamed, then edited, is still
    the one emailed."""
    with engine.begin() as connection:
        row = connection.execute(
            select(newsletter_posts.c.digest_id)
            .where(
                newsletter_posts.c.newsletter == newsletter,
                newsletter_posts.c.post_key.in_(list(keys)),
            )
            .order_by(newsletter_posts.c.seen_at)
            .limit(1)
        ).first()
        if row is None:
            return False, None
        _remember(connection, newsletter, keys, row.digest_id, now)
    return True, row.digest_id


def remember_post(engine: Engine, newsletter: str, keys: Sequence[str], now: datetime) -> None:
    """Remember a post as emailed with no digest in the ledger (written to the outbox)."""
    with engine.begin() as connection:
        _remember(connection, newsletter, keys, None, now)


def digest_post_keys(engine: Engine, digest_id: int) -> set[str]:
    """The names of the post a ``post`` newsletter's digest emails."""
    with engine.connect() as connection:
        return set(
            connection.execute(
                select(newsletter_posts.c.post_key).where(newsletter_posts.c.digest_id == digest_id)
            ).scalars()
        )


def _freeze_audience(
    connection: Connection,
    digest_id: int,
    newsletter: str,
    now: datetime,
    present: Sequence[str] | None = None,
) -> None:
    conditions = [
        subscribers.c.status == "confirmed",
        subscriptions.c.newsletter == newsletter,
    ]
    if present is not None:
        narrowed = select(subscription_categories.c.category).where(
            subscription_categories.c.subscriber_id == subscribers.c.id,
            subscription_categories.c.newsletter == newsletter,
        )
        conditions.append(
            or_(
                ~narrowed.exists(),
                narrowed.where(subscription_categories.c.category.in_(list(present))).exists(),
            )
        )
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
        .select_from(subscribers.join(subscriptions))
        .where(and_(*conditions))
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
    newsletter: str,
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
                    newsletter=newsletter,
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


def digest_by_id(engine: Engine, digest_id: int) -> DigestRecord:
    """The ledger's record of a digest, by its id."""
    with engine.connect() as connection:
        row = connection.execute(select(digests).where(digests.c.id == digest_id)).one()
    return _record(row)
