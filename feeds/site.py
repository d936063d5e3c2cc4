"""Everything ``press publish`` writes under ``public/``, as a map of path to bytes."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

from jinja2 import Environment

from feeds.build import Feed, plan_feeds, xml_feeds
from feeds.discovery import feeds_index, opml
from feeds.entry import Entries
from feeds.icon import ICON_DRAWING, default_ico, default_icon, default_png, initials
from feeds.jsonfeed import json_feed
from feeds.model import (
    DEFAULT_ICO,
    DEFAULT_ICON,
    DEFAULT_LOGO,
    FeedSettings,
    PageSettings,
    Post,
    Site,
)
from feeds.output import Output, always, made, output_key, posts_key
from feeds.pages import build_pages


def feed_files(
    site: Site, feed: Feed, settings: FeedSettings, entries: Entries | None = None
) -> dict[str, bytes]:
    """The files of one feed, one per configured format; ``entries`` holds the entries
    already made for the other feeds."""
    entries = entries or Entries()
    files: dict[str, bytes] = {}
    xml = [kind for kind in settings.formats if kind in ("atom", "rss")]
    if xml:
        style = site.path(STYLESHEET) if settings.stylesheet else ""
        for kind, data in xml_feeds(site, feed, xml, settings.hub, entries, style).items():
            files[feed.path(kind)] = data
    if "json" in settings.formats:
        files[feed.path("json")] = json_feed(site, feed, settings.hub, entries)
    return files


STYLESHEET = "/feeds/feed.xsl"


def _one(files: Callable[[], dict[str, bytes]], name: str) -> bytes:
    return files()[name]


def feed_outputs(
    site: Site, feed: Feed, settings: FeedSettings, entries: Entries
) -> Iterator[Output]:
    """A feed's or archive document's files, made together when the first is asked for.
    The key holds all its bytes depend on: an archive document with a successor (its
    ``next-archive`` link) is never made again while its posts stay the same."""
    # The links: the subscription feed's names the newest archive, an archive's the next.
    links = feed.page < feed.pages if feed.page else feed.pages
    key = output_key("feed", feed.key, feed.page, links, settings, posts_key(feed.entries))
    files = functools.cache(functools.partial(feed_files, site, feed, settings, entries))
    about = feed.entries[0].timestamp if feed.entries else 0.0
    for kind in settings.formats:
        make = functools.partial(_one, files, feed.path(kind))
        yield Output(feed.path(kind), key, make, about)


def _render(env: Environment, name: str, **context: object) -> bytes:
    return env.get_template(name).render(**context).encode("utf-8")


def build_site(
    site: Site,
    posts: Sequence[Post],
    settings: FeedSettings,
    env: Environment,
    pages: PageSettings,
    more_feeds: Sequence[Feed] = (),
) -> Iterator[Output]:
    """Every published file, one at a time (so memory holds one, not the site): the
    feeds, their index and OPML, the pages, the stylesheet.

    ``posts`` are the published posts, newest first; ``more_feeds`` are feeds written
    elsewhere (the digests') that the index and OPML list too.
    """
    budget = settings.max_kb * 1024
    feeds = plan_feeds(site, posts, settings.items, budget, settings.archives)
    entries = Entries()
    for feed in feeds:
        for document in (feed, *feed.archives):
            yield from feed_outputs(site, document, settings, entries)
    listed = [*feeds, *more_feeds]
    yield always("feeds/index.html", lambda: feeds_index(env, site, listed, settings.formats))
    if settings.stylesheet and {"atom", "rss"} & set(settings.formats):
        yield always(STYLESHEET.lstrip("/"), lambda: _render(env, "feed.xsl.j2", site=site))
    yield always("feeds/feeds.opml", lambda: opml(site, listed, settings.formats))
    if pages.enabled:
        yield from build_pages(env, site, posts, feeds, pages, settings.formats)
    if not site.icon:
        yield made(DEFAULT_ICON.lstrip("/"), default_icon(site))
        # Drawn by Pillow only when the title (or press's drawing) changed.
        key = output_key("icon", ICON_DRAWING, initials(site.title))
        yield Output(DEFAULT_ICO.lstrip("/"), key, lambda: default_ico(site))
        if not site.logo:
            yield Output(DEFAULT_LOGO.lstrip("/"), key, lambda: default_png(site))
    if env.loader is not None:
        yield made("style.css", env.loader.get_source(env, "style.css")[0].encode("utf-8"))
