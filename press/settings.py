"""Every setting of ``press.toml`` in one table: name, default, help and check.

The README's configuration section is checked against this table by a test, so a
setting cannot be added without being documented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from feeds.model import FeedSettings, PageSettings
from newsletter.model import SUBJECT_FIELDS, DeliverySettings, DigestSettings

REQUIRED = object()


class Invalid(ValueError):
    """A setting's value is wrong; the message says what was expected."""


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid(f"expected text, got {value!r}")
    return value


def nonempty(value: Any) -> str:
    if not text(value).strip():
        raise Invalid("must not be empty")
    return str(value)


def url(value: Any) -> str:
    if not text(value).startswith(("https://", "http://")) or value.rstrip("/")[-3:] == "://":
        raise Invalid(f"expected an absolute http(s) URL, got {value!r}")
    return str(value).rstrip("/")


def optional_url(value: Any) -> str:
    return url(value) if text(value) else ""


def site_file(value: Any) -> str:
    """A file the site serves: a path on it (``/icon.png``) or an http(s) URL; '' none."""
    if not text(value) or (str(value).startswith("/") and not str(value).startswith("//")):
        return str(value)
    return url(value)


def count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise Invalid(f"expected a whole number of 0 or more, got {value!r}")
    return value


def positive(value: Any) -> int:
    if count(value) < 1:
        raise Invalid(f"expected a whole number of 1 or more, got {value!r}")
    return int(value)


def timezone(value: Any) -> str:
    try:
        ZoneInfo(text(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"not a known time zone: {value!r} (like Europe/London)") from None
    return str(value)


def permalink(value: Any) -> str:
    if not text(value).startswith("/") or "{slug}" not in value:
        raise Invalid(f"expected a path with {{slug}}, like /{{year}}/{{slug}}/, got {value!r}")
    try:
        value.format(year=2022, month=9, day=16, slug="x")
    except (KeyError, IndexError, ValueError) as error:
        raise Invalid(
            f"only {{year}}, {{month}}, {{day}} and {{slug}} may appear: {error}"
        ) from None
    return str(value)


def formats(value: Any) -> tuple[str, ...]:
    known = ("atom", "rss", "json")
    if not isinstance(value, list) or not value or any(v not in known for v in value):
        raise Invalid(f"expected a list drawn from {list(known)}, got {value!r}")
    return tuple(v for v in known if v in value)


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"expected true or false, got {value!r}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Invalid(f"expected a number of 0 or more, got {value!r}")
    return float(value)


def database_url(value: Any) -> str:
    if text(value) and "://" not in value:
        raise Invalid(f"expected a SQLAlchemy URL like sqlite:///var/press.db, got {value!r}")
    return str(value)


def smtp_url(value: Any) -> str:
    if text(value):
        from newsletter.smtp import parse_smtp_url  # smtplib: only for a site that sends

        try:
            parse_smtp_url(value)
        except ValueError as error:
            raise Invalid(str(error)) from None
    return str(value)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekly(value: Any) -> str:
    """``mon 07:00``: a weekday and a local time (seconds allowed: ``mon 07:00:30``)."""
    parts = text(value).lower().split()
    try:
        day, clock = parts
        numbers = [int(n) for n in clock.split(":")]
        hour, minute, second = (*numbers, 0)[:3]
        if day not in WEEKDAYS or not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
            raise ValueError
    except ValueError:
        raise Invalid(f"expected a weekday and a time like 'mon 07:00', got {value!r}") from None
    return f"{day} {hour:02}:{minute:02}:{second:02}"


def choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise Invalid(f"expected one of {list(options)}, got {value!r}")
        return str(value)

    return check


def message_template(value: Any) -> str:
    """A subject or preheader template: Python format fields from a known set."""
    sample = dict.fromkeys(SUBJECT_FIELDS, "x")
    try:
        text(value).format(**sample)
    except KeyError as error:
        raise Invalid(
            f"unknown field {{{error.args[0]}}}; known: {', '.join(SUBJECT_FIELDS)}"
        ) from None
    except (IndexError, ValueError) as error:
        raise Invalid(f"not a valid template: {error}") from None
    return str(value)


def return_path(value: Any) -> str:
    """An envelope sender pattern: an address, with ``{token}`` at most once."""
    text = value.strip() if isinstance(value, str) else None
    bad = text is None or any(c in text for c in " <>") or text.count("{token}") > 1
    if text is None or (text and (bad or text.count("@") != 1)):
        raise Invalid(f"expected an address like bounces+{{token}}@example.com, got {value!r}")
    return text


def address(value: Any) -> str:
    if not text(value):
        return ""
    from email.utils import parseaddr  # here: most sites leave the addresses empty

    if "@" not in parseaddr(value)[1]:
        raise Invalid(f"expected an address like 'Name <name@example.com>', got {value!r}")
    return str(value)


@dataclass(frozen=True)
class Setting:
    section: str
    key: str
    default: Any
    check: Callable[[Any], Any]
    help: str

    @property
    def name(self) -> str:
        return f"{self.section}.{self.key}"


SETTINGS: tuple[Setting, ...] = (
    Setting("site", "title", REQUIRED, nonempty, "The site's name, in feeds, pages and emails."),
    Setting("site", "url", REQUIRED, url, "The site's public base URL; every link starts here."),
    Setting("site", "author", REQUIRED, nonempty, "The author of posts that name none."),
    Setting("site", "description", "", text, "One line about the site, for feeds and pages."),
    Setting("site", "language", "en", nonempty, "The language of the content (BCP 47)."),
    Setting(
        "site",
        "icon",
        "",
        site_file,
        "A square icon (a path on the site or a URL): favicon, Atom icon, JSON Feed favicon. "
        "Empty: press makes favicon.svg from the site's initials.",
    ),
    Setting(
        "site",
        "logo",
        "",
        site_file,
        "A bigger picture for readers and home screens: Atom logo, RSS image, JSON Feed "
        "icon, apple-touch-icon. Empty: the icon.",
    ),
    Setting(
        "site", "timezone", "UTC", timezone, "The zone for dates without one, weeks, schedule."
    ),
    Setting("paths", "posts", "posts", nonempty, "Where posts are, relative to press.toml."),
    Setting("paths", "public", "public", nonempty, "Where the site is written."),
    Setting(
        "paths",
        "templates",
        "templates",
        nonempty,
        "Where the site's templates are; any it lacks come from press's own.",
    ),
    Setting("paths", "var", "var", nonempty, "Where state lives: the database, the outbox."),
    Setting(
        "posts",
        "max_kb",
        512,
        count,
        "KB a post's file may be before press check warns about it; 0: no limit.",
    ),
    Setting("feeds", "formats", ["atom", "rss", "json"], formats, "Which feed formats to write."),
    Setting("feeds", "items", 50, count, "Entries per feed, newest first; 0 means all."),
    Setting(
        "feeds",
        "permalink",
        "/{year}/{month:02}/{day:02}/{slug}/",
        permalink,
        "A post's path: {year}, {month}, {day}, {slug}.",
    ),
    Setting("feeds", "hub", "", optional_url, "A WebSub hub to announce feeds to; empty: none."),
    Setting(
        "feeds",
        "max_kb",
        1024,
        count,
        "KB of full content a feed carries; older entries carry their summary. 0: no limit.",
    ),
    Setting(
        "feeds",
        "archives",
        True,
        flag,
        "Archive documents with each feed's whole history (RFC 5005), feeds.items each.",
    ),
    Setting(
        "feeds",
        "stylesheet",
        True,
        flag,
        "An XSL stylesheet that shows an Atom or RSS feed opened in a browser as a page.",
    ),
    Setting(
        "pages", "enabled", True, flag, "Write post, category and home pages (feeds only: false)."
    ),
    Setting("pages", "per_page", 10, positive, "Posts on each category archive page."),
    Setting(
        "pages",
        "content",
        "full",
        choice("summary", "full"),
        "Posts on archive pages as their full text or their summary.",
    ),
    Setting("pages", "home_items", 10, positive, "Posts on the home page."),
    Setting(
        "pages",
        "comments",
        "email",
        choice("email", "off"),
        "How readers answer a post: email (a reply-by-email link under its comments) or off"
        " (no comment links or counts anywhere; comments in a file beside a post still show).",
    ),
    Setting(
        "pages",
        "comments_to",
        "",
        address,
        "Where replies by email go; empty: newsletter.reply_to, else the newsletter's sender.",
    ),
    Setting("newsletter", "category", "China-Russia", nonempty, "The digest's category."),
    Setting(
        "newsletter",
        "sender",
        "",
        address,
        "The From address; empty: the site's title at newsletter@ the site's domain.",
    ),
    Setting("newsletter", "reply_to", "", address, "A Reply-To address; empty: none."),
    Setting(
        "newsletter",
        "subject",
        "{category} this week: {first_title}{and_more}",
        message_template,
        "The subject line; fields below.",
    ),
    Setting(
        "newsletter",
        "preheader",
        "{posts} from {site}, {week_dates}",
        message_template,
        "The preview line shown after the subject; same fields.",
    ),
    Setting(
        "newsletter",
        "address",
        "",
        text,
        "The sender's postal address, shown in every email's footer.",
    ),
    Setting(
        "newsletter",
        "content",
        "summary",
        choice("summary", "full"),
        "Each post in the email as its summary or its full text.",
    ),
    Setting(
        "newsletter",
        "archive",
        True,
        flag,
        "Publish each week's digest as a web page in newsletter/ (false: no web copies, "
        "and no 'View in your browser' link in the email).",
    ),
    Setting(
        "storage",
        "url",
        "",
        database_url,
        "A SQLAlchemy database URL; empty: SQLite at var/press.db.",
    ),
    Setting(
        "smtp",
        "url",
        "",
        smtp_url,
        "smtp://[user@]host:port (STARTTLS) or smtps://…; empty: no server, use the outbox.",
    ),
    Setting("smtp", "timeout", 30, number, "Seconds to wait for the SMTP server."),
    Setting("delivery", "connections", 4, positive, "SMTP connections used at once."),
    Setting(
        "delivery",
        "processes",
        1,
        positive,
        "Processes that send one digest on this machine, sharing the connections.",
    ),
    Setting("delivery", "rate", 0, number, "Messages a second at most; 0 means no limit."),
    Setting("delivery", "batch", 500, positive, "Deliveries read from the database at a time."),
    Setting("delivery", "retries", 3, positive, "Tries of a message in one run after a 4xx."),
    Setting("delivery", "backoff", 1.0, number, "Seconds before the second try; doubles."),
    Setting(
        "delivery",
        "bounce_limit",
        3,
        positive,
        "Hard failures (5xx) before a subscriber is marked bounced.",
    ),
    Setting(
        "delivery",
        "soft_bounce_limit",
        5,
        positive,
        "Soft bounces (4.x.x, reported after the send) within soft_bounce_days that suppress.",
    ),
    Setting(
        "delivery",
        "soft_bounce_days",
        30,
        positive,
        "The window, in days, in which soft bounces are counted.",
    ),
    Setting(
        "delivery",
        "return_path",
        "",
        return_path,
        "Each delivery's envelope sender, {token} naming it, so a bounce names the delivery;"
        " empty: bounces+{token}@ the sender's domain. Without {token}: one address, no VERP.",
    ),
    Setting(
        "delivery",
        "unsubscribe_address",
        "",
        return_path,
        "The mailto: of List-Unsubscribe, {token} naming the subscriber, read by press"
        " bounces; empty: unsubscribe+{token}@ the sender's domain.",
    ),
    Setting(
        "delivery",
        "lease_seconds",
        120,
        positive,
        "How long a worker holds a batch before another may take it over.",
    ),
    Setting("subscribers", "confirm_hours", 72, positive, "Hours a confirmation link stays good."),
    Setting("dkim", "selector", "", text, "The DKIM selector; empty: messages are not signed."),
    Setting("dkim", "domain", "", text, "The signing domain; empty: the sender's domain."),
    Setting(
        "dkim",
        "key_file",
        "",
        text,
        "The DKIM private key (PEM), relative to press.toml; keep it out of git.",
    ),
    Setting(
        "schedule",
        "digest",
        "mon 07:00",
        weekly,
        "When the weekly digest goes out, in the site's time zone.",
    ),
    Setting(
        "schedule",
        "grace_hours",
        12,
        number,
        "How late a missed digest may still go out; later, it is skipped.",
    ),
    Setting("schedule", "poll_seconds", 5, number, "How often press run looks at posts/."),
)


# The settings as typed, immutable sections: ``config.feeds.formats``, never a string
# lookup. Each section's fields are the table's keys of that section, in order (a test
# checks). NamedTuples: a dataclass each cost a command 0.7 ms to define.


class Paths(NamedTuple):
    posts: str
    public: str
    templates: str
    var: str


class Posts(NamedTuple):
    max_kb: int


# [feeds] and [pages] are what feeds/ builds with, [newsletter] and [delivery] what
# newsletter/ composes and sends with, so those packages define them.
Feeds = FeedSettings
Pages = PageSettings
Newsletter = DigestSettings
Delivery = DeliverySettings


class Storage(NamedTuple):
    url: str


class Smtp(NamedTuple):
    url: str
    timeout: float


class Subscribers(NamedTuple):
    confirm_hours: int


class Dkim(NamedTuple):
    selector: str
    domain: str
    key_file: str


class Schedule(NamedTuple):
    digest: str
    grace_hours: float
    poll_seconds: float


SECTIONS: dict[str, type] = {
    "paths": Paths,
    "posts": Posts,
    "feeds": Feeds,
    "pages": Pages,
    "newsletter": Newsletter,
    "storage": Storage,
    "smtp": Smtp,
    "delivery": Delivery,
    "subscribers": Subscribers,
    "dkim": Dkim,
    "schedule": Schedule,
}  # [site] is feeds.model.Site
