"""The digest's records: a week, a digest, a recipient and their links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from feeds.model import Category, Post

# The fields a newsletter's subject and preheader may use.
SUBJECT_FIELDS = (
    "site", "newsletter", "category", "week", "week_dates", "count", "posts", "first_title",
    "title", "and_more",
)  # fmt: skip

CADENCES = ("post", "daily", "weekly")


class NewsletterSpec(NamedTuple):
    """One newsletter a site offers (``[newsletters.<id>]`` in press.toml)."""

    id: str  # a slug: in digest keys, links and the subscriptions table
    title: str
    categories: tuple[str, ...]  # the category names it draws from; empty: every one
    cadence: str  # "post": each new post its own email; "daily"; "weekly"
    at: str  # weekly: "mon 07:00:00"; daily: "07:00:00"; post: ""
    subject: str
    preheader: str
    template: str  # the templates' stem: "digest" is digest.mjml.j2 and digest.txt.j2
    choose_categories: bool  # readers may narrow it to some of its categories
    max_age_days: float  # post: a post first seen older than this is not emailed

    def draws_from(self, slug: str) -> bool:
        """Whether posts of the category ``slug`` go into this newsletter."""
        from feeds.text import slugify

        return not self.categories or slug in {slugify(c) for c in self.categories}


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
    """One issue of a newsletter: its categories' posts from ``start`` up to ``end``,
    newest first, each once however many of the categories it is filed under."""

    newsletter: NewsletterSpec
    categories: tuple[Category, ...]  # as the posts spell them; empty: every category
    week: Week  # the ISO week it falls in
    start: datetime
    end: datetime
    posts: tuple[Post, ...]
    period: str = ""  # its name in keys: the week (default), a day, a post's

    @property
    def named(self) -> str:
        """Its period as a person reads it: ``2022-W37``, ``2022-09-16``."""
        return self.period or str(self.week)

    @property
    def key(self) -> str:
        """The digest's name in files and ids: ``2022-W37-china-russia``."""
        return f"{self.named}-{self.newsletter.id}"

    @property
    def web_path(self) -> str:
        """The web copy's path under ``public/``."""
        return f"newsletter/{self.key}.html"

    @property
    def label(self) -> str:
        """Its categories as words: ``China-Russia``, ``China-Russia and Trade``; a
        newsletter of every category is called by its title."""
        names = [c.name for c in self.categories]
        if not names:
            return self.newsletter.title
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


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
