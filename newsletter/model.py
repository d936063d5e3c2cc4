"""The digest's records: a week, a digest, a recipient and their links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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


@dataclass(frozen=True)
class DigestSettings:
    """The ``[newsletter]`` settings that shape the email."""

    category: str
    sender: str
    subject: str
    preheader: str
    address: str
    content: str = "summary"  # or "full"
    reply_to: str = ""
    archive: bool = True  # each digest has a web copy on the site


@dataclass(frozen=True)
class Recipient:
    """Whom one message goes to, with their own links."""

    email: str
    unsubscribe_url: str
    preferences_url: str
    unsubscribe_mailto: str
