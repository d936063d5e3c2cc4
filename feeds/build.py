"""Building the feeds: one feedgen document per feed, serialised as Atom and RSS 2.0.

JSON Feed is a third serialiser of the same ``Feed`` (``feeds.jsonfeed``). Everything here
is a pure function of the posts and the settings: no clock, no files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.model import Category, Post, Site
from feeds.select import by_category
from feeds.text import strip_controls

GENERATOR = "bystander-press"
SLASH = "http://purl.org/rss/1.0/modules/slash/"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SUFFIXES = {"atom": ".atom.xml", "rss": ".rss.xml", "json": ".json"}


@dataclass(frozen=True)
class Feed:
    """One feed: its name, where it lives, and its entries, newest first."""

    key: str  # "all" or "category/china-russia"
    title: str
    description: str
    home: str  # the page the feed follows (absolute URL)
    entries: tuple[Post, ...]
    category: Category | None = None
    budget: int = 0  # bytes of full content the feed may carry; 0: no limit

    def path(self, kind: str) -> str:
        """The feed's file path under ``public/``, like ``feeds/all.atom.xml``."""
        return f"feeds/{self.key}{SUFFIXES[kind]}"

    @property
    def updated(self) -> datetime:
        """The newest entry's last change: a feed carries no build time."""
        return max((p.modified for p in self.entries), default=EPOCH)


def category_path(category: Category) -> str:
    """A category's archive page path on the site."""
    return f"/category/{category.slug}/"


def permalink(site: Site, post: Post) -> str:
    """A post's absolute URL."""
    return post.url


_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]+\Z")


def entry_id(site: Site, post: Post) -> str:
    """A post's permanent id (Atom ``id``, JSON Feed ``id``): its ``guid`` when that is a
    full URI, else an RFC 4151 tag URI.

    The tag is made of the site's domain, the first-publication date and the slug, so
    editing the post or renaming its file keeps it; a ``guid`` that is no URI (a number
    from another platform, say) goes into the tag in its place, so the id stays the same
    for as long as the guid does.
    """
    if post.guid and _URI.match(post.guid):
        return post.guid
    day = f"{post.date.astimezone(site.timezone):%Y-%m-%d}"
    if post.guid:
        return f"tag:{site.domain},{day}:guid:{quote(post.guid, safe='')}"
    return f"tag:{site.domain},{day}:{post.slug}"


def rss_guid(site: Site, post: Post) -> str:
    """The RSS ``guid``: the post's own ``guid`` as it is (readers already know it), else
    the permanent id."""
    return post.guid or entry_id(site, post)


def plan_feeds(site: Site, posts: Sequence[Post], items: int, budget: int = 0) -> list[Feed]:
    """The site-wide feed and one feed per category that has a post.

    ``posts`` are the published posts, newest first; ``items`` caps each feed (0: all);
    ``budget`` is the bytes of full content one feed may carry (``full_entries``).
    """

    def cap(entries: Sequence[Post]) -> tuple[Post, ...]:
        return tuple(entries[:items] if items else entries)

    title = strip_controls(site.title)
    feeds = [
        Feed("all", title, site.description or title, site.absolute("/"), cap(posts), None, budget)
    ]
    for category, entries in by_category(posts).items():
        feeds.append(
            Feed(
                key=f"category/{category.slug}",
                title=f"{category.name} – {title}",
                description=f"{category.name} posts from {title}",
                home=site.absolute(category_path(category)),
                entries=cap(entries),
                category=category,
                budget=budget,
            )
        )
    return feeds


def full_entries(feed: Feed) -> int:
    """How many entries, newest first, carry their full content: as many as fit in the
    feed's budget; the older ones carry their summary (a reader still gets every entry,
    and the feed stays small enough for every reader's parser)."""
    if not feed.budget:
        return len(feed.entries)
    used = 0
    for number, post in enumerate(feed.entries):
        used += len(content_html(post).encode("utf-8")) + ENTRY_OVERHEAD
        if used > feed.budget:
            return number
    return len(feed.entries)


ENTRY_OVERHEAD = 2048  # bytes an entry takes besides its content (title, links, summary)


def figure(post: Post) -> str:
    """The post's photo, caption and credit as an HTML figure, or ''."""
    if not (post.image or post.caption or post.credit):
        return ""
    parts = ["<figure>"]
    if post.image:
        parts.append(f'<img src="{escape(post.image)}" alt="{escape(post.caption or "")}">')
    if post.caption or post.credit:
        credit = (
            f" <small>Photo credit: {escape(post.credit, False)}</small>" if post.credit else ""
        )
        parts.append(f"<figcaption>{escape(post.caption or '', False)}{credit}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def content_html(post: Post) -> str:
    """The full HTML a feed entry carries: the figure, then the body."""
    head = figure(post)
    return f"{head}\n{post.html}" if head else post.html


class _SlashFeed(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"slash": SLASH}


class _SlashEntry(BaseEntryExtension):  # type: ignore[misc]
    """``<slash:comments>``: the comment count of an RSS item."""

    def __init__(self) -> None:
        self.count: int | None = None

    def extend_rss(self, entry: Any) -> Any:
        if self.count is not None:
            etree.SubElement(entry, f"{{{SLASH}}}comments").text = str(self.count)
        return entry


def feed_document(site: Site, feed: Feed, hub: str = "") -> FeedGenerator:
    """The feedgen document of one feed, its links set for Atom."""
    document = FeedGenerator()
    document.load_extension("dc", atom=False, rss=True)
    document.register_extension("slash", _SlashFeed, _SlashEntry, atom=False, rss=True)
    document.id(site.absolute(feed.path("atom")))
    document.title(feed.title)
    document.subtitle(feed.description)
    document.author({"name": strip_controls(site.author)})
    document.language(site.language)
    document.generator(GENERATOR)
    document.updated(feed.updated)
    document.lastBuildDate(feed.updated)
    _set_links(document, site, feed, "atom", hub)
    full = full_entries(feed)
    for number, post in enumerate(feed.entries):  # newest first, kept in this order
        entry = document.add_entry(order="append")
        entry.id(entry_id(site, post))
        entry.title(post.title)
        entry.link(href=permalink(site, post), rel="alternate")
        entry.published(post.date)
        entry.updated(post.modified)
        entry.author({"name": post.author})
        entry.summary(post.summary or post.title)
        if number < full:
            entry.content(content_html(post), type="html")
        entry.comments(permalink(site, post) + "#comments")
        for category in post.categories:
            entry.category(term=category.slug, label=category.name)
        entry.dc.dc_creator(post.author)
        entry.slash.count = post.comments
    return document


def _set_links(document: FeedGenerator, site: Site, feed: Feed, kind: str, hub: str) -> None:
    links = [{"href": site.absolute(feed.path(kind)), "rel": "self"}]
    if hub:
        links.append({"href": hub, "rel": "hub"})
    # RSS takes its channel <link> from the last link added: the alternate goes last.
    links.append({"href": feed.home, "rel": "alternate", "type": "text/html"})
    document.link(links, replace=True)


def xml_feeds(site: Site, feed: Feed, kinds: Sequence[str], hub: str = "") -> dict[str, bytes]:
    """The Atom and/or RSS 2.0 documents of one feed (``kinds``), from one feedgen object."""
    document = feed_document(site, feed, hub)
    files: dict[str, bytes] = {}
    if "atom" in kinds:
        files["atom"] = document.atom_str(pretty=True)
    if "rss" in kinds:
        _set_links(document, site, feed, "rss", hub)
        # feedgen keeps one id for both formats: the RSS guid is set after the Atom is out.
        for entry, post in zip(document.entry(), feed.entries, strict=True):
            if post.guid:
                entry.guid(rss_guid(site, post))
        files["rss"] = document.rss_str(pretty=True)
    return files
