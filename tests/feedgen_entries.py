"""The reference ``feeds.entry`` is held to: a feed's whole document from feedgen,
entries and all, as press made it before it built entries in lxml itself (feedgen's
``FeedEntry`` with its setters, and extensions for what feedgen lacks). The head is
``feeds.build.feed_document``'s, which press still writes with feedgen."""

from __future__ import annotations

from typing import Any

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.build import Feed, feed_document, full_entries
from feeds.entry import (
    MEDIA,
    SLASH,
    THREAD,
    comment_links,
    content_html,
    enclosure,
    entry_id,
    image_alt,
    permalink,
    rss_guid,
)
from feeds.model import Post, Site
from feeds.select import tag_terms


class _SlashEntry(BaseEntryExtension):  # type: ignore[misc]
    """``<slash:comments>``: the comment count of an RSS item."""

    def __init__(self) -> None:
        self.count: int | None = None

    def extend_rss(self, entry: Any) -> Any:
        if self.count is not None:
            etree.SubElement(entry, f"{{{SLASH}}}comments").text = str(self.count)
        return entry


class _ThreadEntry(BaseEntryExtension):  # type: ignore[misc]
    """RFC 4685 in an Atom entry: a ``replies`` link with ``thr:count``, ``thr:total``."""

    def __init__(self) -> None:
        self.count: int | None = None
        self.href = ""

    def extend_atom(self, entry: Any) -> Any:
        if self.count is not None:
            link = etree.SubElement(entry, "link")
            link.attrib.update({"rel": "replies", "type": "text/html", "href": self.href})
            link.set(f"{{{THREAD}}}count", str(self.count))
            etree.SubElement(entry, f"{{{THREAD}}}total").text = str(self.count)
        return entry


class _MediaEntry(BaseEntryExtension):  # type: ignore[misc]
    """Media RSS, in RSS and Atom alike: ``media:content`` and ``media:thumbnail``."""

    def __init__(self) -> None:
        self.post: Post | None = None

    def extend_atom(self, entry: Any) -> Any:
        post = self.post
        if post is None or not post.image:
            return entry
        content = etree.SubElement(entry, f"{{{MEDIA}}}content", url=post.image, medium="image")
        if post.image_length:
            content.set("fileSize", str(post.image_length))
        if post.image_type:
            content.set("type", post.image_type)
        description = etree.SubElement(content, f"{{{MEDIA}}}description", type="plain")
        description.text = image_alt(post)
        if post.credit:
            etree.SubElement(content, f"{{{MEDIA}}}credit").text = post.credit
        etree.SubElement(entry, f"{{{MEDIA}}}thumbnail", url=post.image)
        return entry

    def extend_rss(self, entry: Any) -> Any:
        return self.extend_atom(entry)


class _EnclosureEntry(BaseEntryExtension):  # type: ignore[misc]
    """The picture as an Atom ``link rel="enclosure"`` with its type and length."""

    def __init__(self) -> None:
        self.enclosure: tuple[str, int, str] | None = None

    def extend_atom(self, entry: Any) -> Any:
        if self.enclosure is not None:
            url, length, media_type = self.enclosure
            link = etree.SubElement(entry, "link")
            link.attrib.update(
                {"rel": "enclosure", "type": media_type, "length": str(length), "href": url}
            )
        return entry


def feedgen_document(site: Site, feed: Feed, kind: str, hub: str = "") -> FeedGenerator:
    """``feed_document`` with every entry of the feed put in by feedgen (its Dublin Core
    entry extension, which ``feed_document`` loads, first; then these, in this order)."""
    document = feed_document(site, feed, kind, hub)
    document.register_extension("slash_count", BaseExtension, _SlashEntry, atom=False, rss=True)
    document.register_extension("replies", BaseExtension, _ThreadEntry, atom=True, rss=False)
    document.register_extension("picture", BaseExtension, _MediaEntry, atom=True, rss=True)
    document.register_extension("attached", BaseExtension, _EnclosureEntry, atom=True, rss=False)
    full = full_entries(feed)
    for number, post in enumerate(feed.entries):  # newest first, kept in this order
        _fill(document.add_entry(order="append"), site, post, number < full, kind)
    return document


def _fill(entry: FeedEntry, site: Site, post: Post, full: bool, kind: str) -> None:
    entry.id(entry_id(site, post))
    if kind == "rss" and post.guid:  # feedgen's guid() sets the Atom id too: RSS only
        entry.guid(rss_guid(site, post))
    entry.title(post.title)
    entry.link(href=permalink(site, post), rel="alternate")
    entry.published(post.date)
    entry.updated(post.modified)
    entry.author({"name": post.author})
    entry.summary(post.summary or post.title)
    if full:
        entry.content(content_html(post), type="html")
    for category in post.categories:
        entry.category(term=category.slug, label=category.name)
    for tag in tag_terms(post):  # the scheme (RSS: domain) tells tags from categories
        entry.category(term=tag.slug, label=tag.name, scheme=site.absolute("/tag/"))
    entry.dc.dc_creator(post.author)
    if comment_links(site, post):
        entry.comments(permalink(site, post) + "#comments")
        entry.slash_count.count = post.comments
        entry.replies.count = post.comments
        entry.replies.href = permalink(site, post) + "#comments"
    entry.picture.post = post
    attached = enclosure(post)
    if attached is not None and kind == "rss":
        url, length, media_type = attached
        entry.enclosure(url, str(length), media_type)
    elif attached is not None:
        entry.attached.enclosure = attached
