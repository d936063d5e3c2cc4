"""``press report``: what became of one digest, from the ledger alone.

Queued, sent, failed in the session, bounced later (hard and soft, from the messages
that came back), complained, unsubscribed since: counts and rates. No tracking pixel and
no per-person tracking: only what the mail servers and the readers' own clicks said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Engine, and_, distinct, func, select

from newsletter.ledger import DigestRecord, delivery_counts
from newsletter.store import bounce_events, deliveries, digests, subscribers


@dataclass(frozen=True)
class DigestReport:
    digest: str
    subject: str
    recipients: int  # the audience frozen for it
    queued: int  # still to send
    sent: int
    failed: int  # refused in the SMTP session (5xx)
    skipped: int  # left before their turn
    bounced_hard: int  # deliveries a hard bounce came back for, after the send
    bounced_soft: int
    complained: int
    unsubscribed: int  # recipients who left since the digest was sent

    @property
    def delivered(self) -> int:
        """Sent and not bounced back."""
        return max(0, self.sent - self.bounced_hard - self.bounced_soft)

    def rate(self, count: int) -> float:
        return count / self.sent if self.sent else 0.0

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["delivered"] = self.delivered
        data["rates"] = {
            name: round(self.rate(getattr(self, name)), 4)
            for name in ("bounced_hard", "bounced_soft", "complained", "unsubscribed")
        }
        return data

    def table(self) -> str:
        """The report as a plain table a person reads."""
        rows: list[tuple[str, int, float | None]] = [
            ("recipients", self.recipients, None), ("still queued", self.queued, None),
            ("sent", self.sent, None),
            ("failed in the session", self.failed, None),
            ("skipped (left first)", self.skipped, None),
            ("bounced later, hard", self.bounced_hard, self.rate(self.bounced_hard)),
            ("bounced later, soft", self.bounced_soft, self.rate(self.bounced_soft)),
            ("complained", self.complained, self.rate(self.complained)),
            ("unsubscribed since", self.unsubscribed, self.rate(self.unsubscribed)),
        ]  # fmt: skip
        width = max(len(name) for name, _, _ in rows)
        lines = [f"{self.digest}: {self.subject}"]
        for name, count, rate in rows:
            share = f"  {rate:6.2%} of sent" if rate is not None else ""
            lines.append(f"  {name:<{width}}  {count:>8,}{share}")
        return "\n".join(lines)


def latest_digest(engine: Engine, newsletter: str | None = None) -> str | None:
    """The key of the newest digest in the ledger (of ``newsletter``), or None."""
    query = select(digests.c.key).order_by(digests.c.created_at.desc(), digests.c.id.desc())
    if newsletter:
        query = query.where(digests.c.newsletter == newsletter)
    with engine.connect() as connection:
        return connection.execute(query).scalar()


def digest_report(engine: Engine, record: DigestRecord) -> DigestReport:
    counts = delivery_counts(engine, record.id)
    mine = deliveries.c.digest_id == record.id
    with engine.connect() as connection:
        subject = connection.execute(
            select(digests.c.subject).where(digests.c.id == record.id)
        ).scalar_one()
        kinds: dict[str, int] = {
            str(kind): int(count)
            for kind, count in connection.execute(
                select(bounce_events.c.kind, func.count(distinct(bounce_events.c.delivery_id)))
                .join(deliveries, deliveries.c.id == bounce_events.c.delivery_id)
                .where(mine)
                .group_by(bounce_events.c.kind)
            )
        }
        left = connection.execute(
            select(func.count(distinct(subscribers.c.id)))
            .join(deliveries, and_(deliveries.c.subscriber_id == subscribers.c.id, mine))
            .where(
                deliveries.c.status == "sent",
                subscribers.c.status == "unsubscribed",
                subscribers.c.unsubscribed_at >= record.created_at,
            )
        ).scalar_one()
    return DigestReport(
        digest=record.key,
        subject=subject,
        recipients=sum(counts.values()),
        queued=counts["queued"],
        sent=counts["sent"],
        failed=counts["failed"],
        skipped=counts["skipped"],
        bounced_hard=kinds.get("hard", 0),
        bounced_soft=kinds.get("soft", 0),
        complained=kinds.get("complaint", 0),
        unsubscribed=int(left),
    )
