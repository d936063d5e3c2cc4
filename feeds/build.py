"""Building the feeds: one feedgen document per feed, serialised as Atom and RSS 2.0,
with each post's entry made once (``feeds.entry``) and put into every document that
shows it.

JSON Feed is a third serialiser of the same ``Feed`` (``feeds.jsonfeed``). Everything here
is a pure function of the posts and the settings: no clock, no files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.entry import (
    MEDIA,
    SLASH,
    THREAD,
    Entries,
    content_size,
)
from feeds.model import Category, Post, Site
from feeds.select import by_category, by_tag
from feeds.text import strip_controls

GENERATOR = "bystander-press"
HISTORY = "http://purl.org/syndication/history/1.0"  # RFC 5005's fh:archive
ATOM = "http://www.w3.org/2005/Atom"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SUFFIXES = {"atom": ".atom.xml", "rss": ".rss.xml", "json": ".json"}


def feed_path(key: str, kind: str, page: int = 0) -> str:
    """Where a feed's file is under ``public/``: ``feeds/all.atom.xml``, or for its archive
    document number ``page`` (1, the oldest), ``feeds/archive/all/1.atom.xml``."""
    if page:
        return f"feeds/archive/{key}/{page}{SUFFIXES[kind]}"
    return f"feeds/{key}{SUFFIXES[kind]}"


@dataclass(frozen=True)
class Feed:
    """One feed: its name, where it lives, and its entries, newest first.

    A subscription feed holds the newest entries; its ``archives`` (RFC 5005, Feed
    Paging and Archiving) hold the rest of its history, in complete documents counted
    from the oldest, so that the entries of a document never change while the posts
    stay. An archive document is a ``Feed`` too, with its ``page`` number (1, the
    oldest) and ``pages``, how many its feed has.
    """

    key: str  # "all" or "category/china-russia"
    title: str
    description: str
    home: str  # the page the feed follows (absolute URL)
    entries: tuple[Post, ...]
    category: Category | None = None
    budget: int = 0  # bytes of full content the feed may carry; 0: no limit
    archives: tuple[Feed, ...] = ()
    page: int = 0  # an archive document's number; 0: the subscription feed
    pages: int = 0  # the number of archive documents of the feed

    def path(self, kind: str) -> str:
        """The feed's file path under ``public/``, like ``feeds/all.atom.xml``."""
        return feed_path(self.key, kind, self.page)

    @property
    def updated(self) -> datetime:
        """The newest entry's last change: a feed carries no build time."""
        return max((p.modified for p in self.entries), default=EPOCH)


def category_path(category: Category) -> str:
    """A category's (or tag's) archive page path on the site: ``/category/trade/``,
    ``/tag/arctic/``."""
    return f"/{category.kind}/{category.slug}/"


def plan_feeds(
    site: Site, posts: Sequence[Post], items: int, budget: int = 0, archives: bool = False
) -> list[Feed]:
    """The site-wide feed, one feed per category that has a post, one per tag.

    ``posts`` are the published posts, newest first; ``items`` caps each feed (0: all);
    ``budget`` is the bytes of full content one feed (or archive document) may carry
    (``full_entries``); with ``archives``, a feed with more than ``items`` posts has
    archive documents of ``items`` entries each.
    """
    title = strip_controls(site.title)
    all_posts = Feed("all", title, site.description or title, site.absolute("/"), (), None, budget)
    planned = [(all_posts, posts)]
    for term, entries in [*by_category(posts).items(), *by_tag(posts).items()]:
        tagged = term.kind == "tag"
        feed = Feed(
            key=f"{term.kind}/{term.slug}",
            title=f"Tagged {term.name} – {title}" if tagged else f"{term.name} – {title}",
            description=(
                f"Posts tagged {term.name} from {title}"
                if tagged
                else f"{term.name} posts from {title}"
            ),
            home=site.absolute(category_path(term)),
            entries=(),
            category=term,
            budget=budget,
        )
        planned.append((feed, entries))
    return [fill(feed, entries, items, archives) for feed, entries in planned]


def fill(feed: Feed, entries: Sequence[Post], items: int, archives: bool) -> Feed:
    """The feed with its newest ``items`` entries and, when it has more, its archive
    documents: every complete run of ``items`` entries from the oldest (what is left over,
    fewer than ``items``, is in the subscription feed)."""
    newest = tuple(entries[:items] if items else entries)
    if not (archives and items and len(entries) > items):
        return replace(feed, entries=newest)
    oldest_first = entries[::-1]
    count = len(entries) // items
    documents = tuple(
        replace(
            feed,
            entries=tuple(oldest_first[(number - 1) * items : number * items][::-1]),
            page=number,
            pages=count,
        )
        for number in range(1, count + 1)
    )
    return replace(feed, entries=newest, archives=documents, pages=count)


def full_entries(feed: Feed, size: Callable[[Post], int] = content_size) -> int:
    """How many entries, newest first, carry their full content: as many as fit in the
    feed's budget; the older ones carry their summary (a reader still gets every entry,
    and the feed stays small enough for every reader's parser)."""
    if not feed.budget:
        return len(feed.entries)
    used = 0
    for number, post in enumerate(feed.entries):
        used += size(post) + ENTRY_OVERHEAD
        if used > feed.budget:
            return number
    return len(feed.entries)


ENTRY_OVERHEAD = 2048  # bytes an entry takes besides its content (title, links, summary)


class _SlashFeed(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"slash": SLASH}


class _ThreadFeed(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"thr": THREAD}


class _MediaFeed(BaseExtension):  # type: ignore[misc]
    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA}


class _HistoryFeed(BaseExtension):  # type: ignore[misc]
    """RFC 5005's ``fh:archive`` in an archive document, and in RSS, the ``atom:link``s
    that feedgen leaves out of it (it writes only ``self``): the hub, and the archive
    links ``current``, ``prev-archive`` and ``next-archive``."""

    def __init__(self) -> None:
        self.archive = False
        self.rss_links: list[tuple[str, str]] = []  # (rel, href)

    def extend_ns(self) -> dict[str, str]:
        return {"fh": HISTORY} if self.archive else {}

    def _mark(self, parent: Any, first: str) -> None:
        if not self.archive:
            return
        mark = etree.Element(f"{{{HISTORY}}}archive")
        found = parent.find(first)
        if found is None:
            parent.append(mark)
        else:
            found.addprevious(mark)

    def extend_atom(self, feed: Any) -> Any:
        self._mark(feed, f"{{{ATOM}}}entry")
        return feed

    def extend_rss(self, feed: Any) -> Any:
        channel = feed[0]
        self_link = channel.find(f"{{{ATOM}}}link")
        for rel, href in reversed(self.rss_links):
            link = etree.Element(f"{{{ATOM}}}link", href=href, rel=rel)
            if self_link is None:
                channel.append(link)
            else:
                self_link.addnext(link)
        self._mark(channel, "item")
        return feed


def archive_links(site: Site, feed: Feed, kind: str) -> list[tuple[str, str]]:
    """A feed's RFC 5005 links as (rel, absolute URL): the subscription feed's to its
    newest archive document, an archive document's to the feed and its neighbours."""
    if not feed.page:
        if not feed.pages:
            return []
        return [("prev-archive", site.absolute(feed_path(feed.key, kind, feed.pages)))]
    links = [("current", site.absolute(feed_path(feed.key, kind)))]
    if feed.page > 1:
        links.append(("prev-archive", site.absolute(feed_path(feed.key, kind, feed.page - 1))))
    if feed.page < feed.pages:
        links.append(("next-archive", site.absolute(feed_path(feed.key, kind, feed.page + 1))))
    return links


def feed_document(site: Site, feed: Feed, kind: str, hub: str = "") -> FeedGenerator:
    """The feedgen document of one feed as ``kind`` (``atom`` or ``rss``: their links and
    ids differ), its feed-level elements only: ``xml_feeds`` puts in the entries, each
    made once (``feeds.entry``). The extensions declare the namespaces the entries use."""
    document = FeedGenerator()
    document.load_extension("dc", atom=False, rss=True)
    document.register_extension("slash", _SlashFeed, None, atom=False, rss=True)
    document.register_extension("thread", _ThreadFeed, None, atom=True, rss=False)
    document.register_extension("media", _MediaFeed, None, atom=True, rss=True)
    document.register_extension("history", _HistoryFeed, None, atom=True, rss=True)
    document.history.archive = bool(feed.page)
    # An archive document belongs to its feed: the feed's id, as in every document of it.
    document.id(site.absolute(feed_path(feed.key, "atom")))
    document.title(feed.title)
    document.subtitle(feed.description)
    document.author({"name": strip_controls(site.author)})
    document.language(site.language)
    document.generator(GENERATOR)
    document.icon(site.icon_url)
    # feedgen's logo() is Atom's logo and the RSS image's URL; image() completes it. (RSS
    # wants GIF, JPEG or PNG: without a logo, the initials' PNG, not their SVG.)
    document.logo(site.logo_url)
    document.image(url=site.logo_url, title=feed.title, link=feed.home)
    document.updated(feed.updated)
    document.lastBuildDate(feed.updated)
    _set_links(document, site, feed, kind, hub)
    return document


def _set_links(document: FeedGenerator, site: Site, feed: Feed, kind: str, hub: str) -> None:
    links = [{"href": site.absolute(feed.path(kind)), "rel": "self"}]
    others = ([("hub", hub)] if hub and not feed.page else []) + archive_links(site, feed, kind)
    if kind == "rss":  # feedgen writes only the self link into RSS: the extension adds them
        document.history.rss_links = others
    else:
        links += [{"href": href, "rel": rel} for rel, href in others]
    # RSS takes its channel <link> from the last link added: the alternate goes last.
    links.append({"href": feed.home, "rel": "alternate", "type": "text/html"})
    document.link(links, replace=True)


CLOSING = {"atom": b"</feed>\n", "rss": b"  </channel>\n</rss>\n"}


def xml_feeds(
    site: Site,
    feed: Feed,
    kinds: Sequence[str],
    hub: str = "",
    entries: Entries | None = None,
    stylesheet: str = "",
) -> dict[str, bytes]:
    """The Atom and/or RSS 2.0 documents of one feed (``kinds``): the feed-level elements
    from feedgen, the entries from ``entries`` (made once for all feeds), the bytes those
    of ``feed_document``'s whole document; with ``stylesheet`` (an XSL's URL), an
    ``xml-stylesheet`` instruction after the XML declaration, which feed readers skip."""
    entries = entries or Entries()
    full = full_entries(feed, entries.size)
    files: dict[str, bytes] = {}
    for kind in ("atom", "rss"):
        if kind not in kinds:
            continue
        document = feed_document(site, feed, kind, hub)
        # feedgen's own first step of atom_str and rss_str: the tree, to put entries in.
        root, tree = document._create_rss() if kind == "rss" else document._create_atom()
        head = etree.tostring(tree, pretty_print=True, encoding="UTF-8", xml_declaration=True)
        if not head.endswith(CLOSING[kind]):
            raise AssertionError(f"unexpected end of a {kind} document: {head[-40:]!r}")
        head = head[: -len(CLOSING[kind])]
        if stylesheet:
            declaration, _, rest = head.partition(b"\n")
            style = f'<?xml-stylesheet type="text/xsl" href="{escape(stylesheet)}"?>'
            head = b"\n".join([declaration, style.encode("utf-8"), rest])
        parts = [head]
        parts += (entries.get(site, p, kind, n < full, root) for n, p in enumerate(feed.entries))
        parts.append(CLOSING[kind])
        files[kind] = b"".join(parts)
    return files
