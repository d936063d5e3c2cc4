"""The digest's records: a week, a digest, a recipient and their links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from feeds.model import Category, Post

# The fields newsletter.subject and newsletter.preheader may use.
SUBJECT_FIELDS = (
    "site", "category", "week", "week_dates", "count", "posts", "first_title", "and_more",
)  # fmt: skip


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week, like 2022-W37."""

    year: int
    number: int

    def __str__(self) -> str:
        return f"{self.year}-W{self.number:02}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 7)

    @classmethod
    def of(cls, day: date) -> Week:
        """The ISO week a day falls in."""
        year, number, _ = day.isocalendar()
        return cls(year, number)


@dataclass(frozen=True)
class Digest:
    """One week's posts of one category, newest first, from ``start`` up to ``end``."""

    category: Category
    week: Week
    start: datetime
    end: datetime
    posts: tuple[Post, ...]

    @property
    def key(self) -> str:
        """The digest's name in files and ids: ``2022-W37-china-russia``."""
        return f"{self.week}-{self.category.slug}"

    @property
    def web_path(self) -> str:
        """The web copy's path under ``public/``."""
        return f"newsletter/{self.key}.html"


class DigestSettings(NamedTuple):
    """The ``[newsletter]`` section of press.toml (``config.newsletter``): what shapes the
    email. press/settings.py holds the defaults and checks; an empty ``sender`` is filled
    in from the site when the configuration loads."""

    category: str
    sender: str
    reply_to: str
    subject: str
    preheader: str
    address: str
    content: str  # "summary" or "full"
    archive: bool  # each digest has a web copy on the site


class DeliverySettings(NamedTuple):
    """The ``[delivery]`` section of press.toml (``config.delivery``)."""

    connections: int
    processes: int
    rate: float  # messages a second across all connections; 0: no limit
    batch: int
    retries: int  # tries of one message in one run before it waits for the next run
    backoff: float  # seconds before the second try, doubling after
    bounce_limit: int  # hard failures before a subscriber is marked bounced
    soft_bounce_limit: int  # soft bounces within soft_bounce_days that suppress
    soft_bounce_days: int
    return_path: str  # the envelope sender pattern: {token} names the delivery (VERP)
    unsubscribe_address: str  # List-Unsubscribe's mailto: {token} names the subscriber
    lease_seconds: int

    @property
    def outage_after(self) -> int:
        """Messages deferred in a row, none sent between, that mean the server is down."""
        return max(4, 2 * self.connections)


@dataclass(frozen=True)
class Recipient:
    """Whom one message goes to, with their own links."""

    email: str
    unsubscribe_url: str
    preferences_url: str
    unsubscribe_mailto: str
