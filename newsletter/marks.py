"""The two statements every message costs: the check just before it is handed to the SMTP
server, and marking it sent after the server's 250 (the marks of one round of the
connections in one commit, flushed to the disk before any of them takes another
message: on SQLite this connection commits with ``synchronous = FULL``).

Both are single statements, run in autocommit on the sender's own connection,
as SQL text through the driver's cursor: SQLAlchemy's execution machinery cost as much per
statement as the database's own work. Both are fenced by the lease (see
``newsletter.leases``). Everything else about deliveries goes through
``newsletter.store``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

_CHECK = (
    "SELECT d.status, d.lease_owner, d.lease_expires, s.status FROM deliveries d "
    "JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = {p}"
)
_SENT = (
    "UPDATE deliveries SET status = 'sent', reply = {p}, message_id = {p}, "
    "attempts = attempts + 1, sent_at = {p}, updated_at = {p}, error = NULL, "
    "lease_owner = NULL, lease_expires = NULL "
    "WHERE id = {p} AND lease_owner = {p} AND status = 'queued'"
)


class Marks:
    """The per-message statements on one autocommit connection (SQLite or PostgreSQL)."""

    def __init__(self, connection: Connection) -> None:
        self.sqlite = connection.dialect.name == "sqlite"
        placeholder = "?" if self.sqlite else "%s"
        self.check_sql = _CHECK.format(p=placeholder)
        self.sent_sql = _SENT.format(p=placeholder)
        raw: Any = connection.connection.dbapi_connection
        self.cursor = raw.cursor()
        if self.sqlite:  # a commit of this connection is on the disk when it returns
            self.cursor.execute("PRAGMA synchronous=FULL")

    def _time(self, when: datetime) -> Any:
        """A time as the schema stores it: naive UTC text on SQLite (SQLAlchemy's own
        format), an aware value on PostgreSQL."""
        utc = when.astimezone(UTC)
        if self.sqlite:
            return utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return utc

    def may_send(self, delivery_id: int, owner: str, now: datetime) -> str:
        """``"send"``; ``"left"`` when the subscriber is no longer confirmed (leaving
        always wins); ``"done"`` when the row is no longer queued (sent by another sender,
        or its digest skipped); ``"lost"`` when ``owner`` no longer holds the row's lease,
        or the lease ran out."""
        self.cursor.execute(self.check_sql, (delivery_id,))
        status, lease_owner, expires, subscriber = self.cursor.fetchone()
        if subscriber != "confirmed":
            return "left"
        if status != "queued":
            return "done"
        if isinstance(expires, str):
            expires = datetime.fromisoformat(expires)
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if lease_owner != owner or expires is None or expires <= now:
            return "lost"
        return "send"

    def sent(
        self, delivery_id: int, owner: str, reply: str, message_id: str, now: datetime
    ) -> bool:
        """Record the server's acceptance; False when the lease was lost (nothing is
        written: the row is another sender's now)."""
        return self.sent_all([(delivery_id, reply, message_id)], owner, now)[0]

    def sent_all(
        self, accepted: Sequence[tuple[int, str, str]], owner: str, now: datetime
    ) -> list[bool]:
        """Record the server's acceptance of several messages (delivery id, reply,
        Message-ID) in one durable commit: one flush to the disk for a round of the
        connections, not one a message. For each, False when the lease was lost."""
        when, grouped = self._time(now), len(accepted) > 1  # one alone commits itself
        if grouped:
            self.cursor.execute("BEGIN")
        held = []
        try:
            for delivery_id, reply, message_id in accepted:
                values = (reply, message_id, when, when, delivery_id, owner)
                self.cursor.execute(self.sent_sql, values)
                held.append(bool(self.cursor.rowcount))
            if grouped:
                self.cursor.execute("COMMIT")
        except BaseException:
            if grouped:
                with contextlib.suppress(Exception):
                    self.cursor.execute("ROLLBACK")
            raise
        return held
