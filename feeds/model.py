"""The content model: plain, frozen records passed between the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

from feeds.errors import Problem


@dataclass(frozen=True, order=True)
class Category:
    """A category a post is filed under, or one of its tags (``kind`` "tag"); ``slug``
    names its feeds and archive page (``/category/<slug>/``, ``/tag/<slug>/``)."""

    name: str
    slug: str
    kind: str = "category"


class FeedSettings(NamedTuple):
    """The ``[feeds]`` section of press.toml (``config.feeds``); press/settings.py holds
    the defaults and checks."""

    formats: tuple[str, ...]
    items: int
    permalink: str
    hub: str
    max_kb: int  # the full content one feed carries; 0: no limit
    archives: bool  # archive documents with the whole history (RFC 5005)
    stylesheet: bool = True  # feeds/feed.xsl, named by each Atom and RSS document


class PageSettings(NamedTuple):
    """The ``[pages]`` section of press.toml (``config.pages``)."""

    enabled: bool
    per_page: int
    content: str  # "full" or "summary", on archive and home pages
    home_items: int
    comments: str = "email"  # "email" or "off" (Site.comments is what is used)
    comments_to: str = ""


# Made from the site's initials when no icon is set (feeds/icon.py).
DEFAULT_ICON = "/favicon.svg"
DEFAULT_ICO = "/favicon.ico"  # for browsers and readers that ask for it unprompted
DEFAULT_LOGO = "/apple-touch-icon.png"  # a PNG: the home-screen icon, the feeds' logo


@dataclass(frozen=True)
class Site:
    """What the feeds and pages need to know about the site, read from ``press.toml``."""

    title: str
    url: str
    author: str
    language: str
    timezone: ZoneInfo
    description: str = ""
    permalink: str = "/{year}/{month:02}/{day:02}/{slug}/"
    icon: str = ""  # a path on the site or a URL; "": the initials' favicon.svg
    logo: str = ""  # the same; "": the icon, or without one the initials' PNG
    comments: str = "email"  # how readers answer a post: "email" (comments_to) or "off"
    comments_to: str = ""  # the address replies by email go to

    @property
    def icon_url(self) -> str:
        """The site's icon, absolute: the configured one, else press's ``favicon.svg``."""
        return self._absolute_file(self.icon or DEFAULT_ICON)

    @property
    def logo_url(self) -> str:
        """The site's logo, absolute: the configured one, else the configured icon, else
        press's ``apple-touch-icon.png``."""
        return self._absolute_file(self.logo or self.icon or DEFAULT_LOGO)

    def _absolute_file(self, where: str) -> str:
        return self.absolute(where) if where.startswith("/") else where

    @property
    def domain(self) -> str:
        """The host name of the site's URL, used in tag URIs."""
        rest = self.url.split("://", 1)[-1]
        return rest.split("/", 1)[0].split(":", 1)[0]

    def path(self, path: str) -> str:
        """A site path as a link within the site (``/blog/x/`` when the site is at /blog)."""
        base = self.url.split("://", 1)[-1].partition("/")[2].strip("/")
        return ("/" + base if base else "") + "/" + path.lstrip("/")

    def absolute(self, path: str) -> str:
        """The absolute URL of a site path such as ``/feeds/all.atom.xml``."""
        return self.url.rstrip("/") + "/" + path.lstrip("/")


class BodySource(Protocol):
    """Where a post's Markdown is when it is not held in memory: ``press`` keeps big
    sites' posts without their bodies and gives each post a source that reads its file
    back (``press.content.FileBody``). ``feeds`` only calls ``read``; it opens nothing."""

    def read(self) -> str: ...


@dataclass(frozen=True)
class Comment:
    """A reader's comment on a post (``feeds.comments`` reads them): who, when, their
    text in Markdown, and the comment it answers (``parent``, an ``id``; "" for none)."""

    id: str
    author: str
    date: datetime
    text: str
    parent: str = ""
    url: str = ""  # the commenter's site, http(s) only


@dataclass(frozen=True)
class Post:
    """One published or draft post, loaded and validated from a Markdown file.

    Its HTML (and the summary made from it) is rendered on first use: a publish renders
    only the posts that some feed, page or digest shows.
    """

    source: str
    title: str
    slug: str
    date: datetime
    categories: tuple[Category, ...]
    body: str | BodySource  # the Markdown, or where to read it when first rendered
    url: str  # the post's absolute URL: relative links in the body resolve against it
    author: str
    summary_given: str | None = None  # the front matter's summary, when it has one
    fingerprint: str = ""  # a hash of the file: equal when nothing in it changed
    updated: datetime | None = None
    image: str | None = None
    caption: str | None = None
    credit: str | None = None
    image_alt: str | None = None  # the picture's alt text; else the caption
    image_type: str | None = None  # its media type, given or read from its URL's ending
    image_length: int = 0  # its size in bytes, when given: then feeds carry an enclosure
    comments: int = 0
    discussion: bool = True  # its page has a comments section (#comments)
    thread: tuple[Comment, ...] = ()  # the comments shown on its page, oldest first
    draft: bool = False
    guid: str | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def markdown(self) -> str:
        """The body's Markdown: the text itself, or what its source gives (asked once,
        for ``html``)."""
        return self.body if isinstance(self.body, str) else self.body.read()

    @cached_property
    def html(self) -> str:
        """The body as sanitised HTML with absolute links."""
        from feeds.markdown import render_markdown  # on first use: press starts faster

        return render_markdown(self.markdown, self.url)

    def __getstate__(self) -> dict[str, Any]:
        """A pickled post (the post cache, a parsing process) leaves out its HTML: it is
        made again from the body, when asked for."""
        state = self.__dict__.copy()
        state.pop("html", None)
        return state

    @cached_property
    def summary(self) -> str:
        """The front matter's summary, else the plain text of the first paragraph."""
        if self.summary_given is not None:
            return self.summary_given
        from feeds.markdown import summarise_html

        return summarise_html(self.html)

    @cached_property
    def timestamp(self) -> float:
        """The date as a POSIX timestamp: what posts are sorted and compared by (an aware
        datetime asks its zone for the offset at each comparison)."""
        return self.date.timestamp()

    @property
    def modified(self) -> datetime:
        """When the post last changed: ``updated`` when given, else its date."""
        return self.updated or self.date


@dataclass(frozen=True)
class Loaded:
    """The outcome of loading many posts: the good ones, and every problem found."""

    posts: tuple[Post, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def failed(self) -> tuple[str, ...]:
        """The paths of the posts that could not be loaded."""
        return tuple(dict.fromkeys(p.path for p in self.errors))


@dataclass(frozen=True)
class Parsed:
    """What one file gave: its post, or None when it could not be loaded, and problems."""

    post: Post | None
    problems: tuple[Problem, ...] = ()
