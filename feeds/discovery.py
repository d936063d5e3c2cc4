"""Finding the feeds: the feeds index page (with autodiscovery) and the OPML list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree import ElementTree

from jinja2 import Environment

from feeds.build import Feed
from feeds.model import Site

MEDIA_TYPES = {
    "atom": "application/atom+xml",
    "rss": "application/rss+xml",
    "json": "application/feed+json",
}
LABELS = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}


@dataclass(frozen=True)
class FeedLink:
    """One format of one feed, as a page links to it."""

    url: str
    type: str
    label: str
    title: str


def feed_links(site: Site, feed: Feed, formats: Sequence[str]) -> list[FeedLink]:
    """The links to each format of ``feed``, in the order of ``formats``."""
    return [
        FeedLink(
            site.absolute(feed.path(kind)),
            MEDIA_TYPES[kind],
            LABELS[kind],
            f"{feed.title} ({LABELS[kind]})",
        )
        for kind in formats
    ]


def feeds_index(
    env: Environment, site: Site, feeds: Sequence[Feed], formats: Sequence[str]
) -> bytes:
    """``feeds/index.html``: every feed with its links, each autodiscoverable."""
    listed = [
        {"title": f.title, "description": f.description, "links": feed_links(site, f, formats)}
        for f in feeds
    ]
    html = env.get_template("feeds.html.j2").render(
        site=site,
        feeds=listed,
        head_feeds=[link for f in listed for link in f["links"]],
        opml_url=site.absolute("/feeds/feeds.opml"),
    )
    return html.encode("utf-8")


def opml(site: Site, feeds: Sequence[Feed], formats: Sequence[str]) -> bytes:
    """``feeds/feeds.opml``: one outline per feed, in the first configured format."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = f"{site.title} feeds"
    body = ElementTree.SubElement(root, "body")
    kind = formats[0]
    for feed in feeds:
        ElementTree.SubElement(
            body,
            "outline",
            type="rss",
            text=feed.title,
            title=feed.title,
            xmlUrl=site.absolute(feed.path(kind)),
            htmlUrl=feed.home,
        )
    ElementTree.indent(root)
    document: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
