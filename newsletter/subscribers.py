"""Subscribers: checking addresses, adding, importing and exporting them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Engine, select

from feeds.text import slugify
from newsletter.statuses import LEFT, STATUSES, SUPPRESSED
from newsletter.store import (
    Subscriber,
    choice_text,
    find_subscriber,
    insert_subscriber,
    list_subscribers,
    parse_choice,
    set_status,
    subscribers,
)

CSV_FIELDS = (
    "email",
    "status",
    "newsletters",
    "source",
    "subscribed_at",
    "confirmed_at",
    "unsubscribed_at",
)


class InvalidEmail(ValueError):
    """An address that is not a valid email address; the message says why."""


def normalise_email(text: str) -> str:
    """The address as stored and compared: syntax checked, whole address lower case."""
    try:
        checked = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    return checked.normalized.lower()


def normal_choices(entries: Iterable[str]) -> tuple[str, ...]:
    """Newsletter ids (or category names, as before there were several newsletters), each
    perhaps narrowed (``asia-weekly:china-us+trade``), as the slugs they are kept by."""
    found: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        newsletter, categories = parse_choice(entry)
        newsletter = slugify(newsletter)
        if newsletter:
            found[newsletter] = tuple(s for s in (slugify(c) for c in categories) if s)
    return tuple(choice_text(n, c) for n, c in found.items())


@dataclass(frozen=True)
class Added:
    """What ``add`` did: ``added``, ``exists`` or ``refused`` (unsubscribed or bounced)."""

    email: str
    outcome: str
    status: str


def add(
    engine: Engine,
    email: str,
    categories: Iterable[str],
    source: str,
    now: datetime,
    confirmed: bool = False,
) -> Added:
    """Add a subscriber, pending (or confirmed when the publisher has consent already).

    An address that unsubscribed or bounced stays so: it is never added back by hand.
    """
    address = normalise_email(email)
    existing = find_subscriber(engine, address)
    if existing is not None:
        outcome = "refused" if existing.status in LEFT else "exists"
        if outcome == "exists" and confirmed and existing.status == "pending":
            set_status(engine, address, "confirmed", now)
            return Added(address, "confirmed", "confirmed")
        return Added(address, outcome, existing.status)
    status = "confirmed" if confirmed else "pending"
    with engine.begin() as connection:
        insert_subscriber(connection, address, status, normal_choices(categories), source, now)
    return Added(address, "added", status)


def request_subscription(
    engine: Engine, email: str, categories: Iterable[str], now: datetime
) -> Subscriber | None:
    """Someone asked on the form: the subscriber to send a confirmation link to (added as
    pending if new), or None when no mail may go: the address is confirmed already, or
    suppressed (it bounced, or its owner complained: ``press subscribers`` can tell)."""
    existing = find_subscriber(engine, email)
    if existing is None:
        with engine.begin() as connection:
            insert_subscriber(connection, email, "pending", normal_choices(categories), "web", now)
        existing = find_subscriber(engine, email)
    if existing is None or existing.status in ("confirmed", *SUPPRESSED):
        return None
    return existing


@dataclass
class ImportReport:
    """An import's outcome; ``problems`` are ``(line, reason)`` pairs."""

    imported: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


def import_csv(
    engine: Engine, text: str, default_categories: Iterable[str], source: str, now: datetime
) -> ImportReport:
    """Import subscribers from CSV with a header row (``email`` required; ``status``,
    ``categories`` separated by ``;``, ``source`` optional).

    Bad rows are reported by line and the good ones imported, all in one transaction:
    a crash imports nothing. Rows without a status are ``confirmed`` (an import is a list
    the publisher has consent for); ``unsubscribed`` and ``bounced`` rows are recorded so
    those addresses are never mailed. Addresses already known are left as they are.
    """
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        report.problems.append((1, "no 'email' column in the header row"))
        return report
    defaults = normal_choices(default_categories)
    seen: set[str] = set()
    with engine.begin() as connection:
        known = {row.email for row in connection.execute(select(subscribers.c.email))}
        for row in reader:
            line = reader.line_num
            values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
            try:
                address = normalise_email(values.get("email", ""))
            except InvalidEmail as error:
                report.problems.append((line, f"email {values.get('email', '')!r}: {error}"))
                continue
            status = values.get("status", "").lower() or "confirmed"
            if status not in STATUSES:
                report.problems.append((line, f"status {status!r}: expected one of {STATUSES}"))
                continue
            if address in known or address in seen:
                report.skipped.append((line, f"{address} is already known"))
                continue
            # "categories": the column's name before there were several newsletters
            given = values.get("newsletters") or values.get("categories", "")
            names = [n for n in given.split(";") if n.strip()]
            categories = normal_choices(names) if names else defaults
            insert_subscriber(
                connection, address, status, categories, values.get("source") or source, now
            )
            seen.add(address)
            report.imported += 1
    return report


def export_csv(engine: Engine) -> Iterator[str]:
    """Every subscriber as CSV lines (header first), in the import's format."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(CSV_FIELDS)
    for s in list_subscribers(engine):
        yield line(
            [
                s.email,
                s.status,
                ";".join(s.choices),
                s.source,
                s.subscribed_at.isoformat(),
                s.confirmed_at.isoformat() if s.confirmed_at else "",
                s.unsubscribed_at.isoformat() if s.unsubscribed_at else "",
            ]
        )
