"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1), a third serialiser of a ``Feed``."""

from __future__ import annotations

import functools
import json
from typing import Any

from feeds.build import Feed, feed_path, full_entries
from feeds.entry import Entries, comment_links, content_html, enclosure, entry_id, permalink
from feeds.model import Post, Site

VERSION = "https://jsonfeed.org/version/1.1"


def json_feed(site: Site, feed: Feed, hub: str = "", entries: Entries | None = None) -> bytes:
    """The JSON Feed document of one feed, as UTF-8 bytes with a final newline: what
    ``json.dumps`` gives with an indent of two, each item's text made once in ``entries``
    for every document that carries it.

    An archive document is a page of its feed: the feed's ``feed_url``, and a
    ``next_url`` to the next older page (from the feed, its newest archive document)."""
    entries = entries or Entries()
    document: dict[str, Any] = {
        "version": VERSION,
        "title": feed.title,
        "home_page_url": feed.home,
        "feed_url": site.absolute(feed_path(feed.key, "json")),
        "description": feed.description,
        "language": site.language,
        "icon": site.logo_url,
        "favicon": site.icon_url,
        "authors": [{"name": site.author}],
    }
    older = feed.page - 1 if feed.page else feed.pages
    if older:
        document["next_url"] = site.absolute(feed_path(feed.key, "json", older))
    if hub and not feed.page:
        document["hubs"] = [{"type": "WebSub", "url": hub}]
    document["items"] = []  # the last key: the items go into its brackets
    head = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    if not feed.entries:
        return head + b"\n"
    full = full_entries(feed, entries.size)
    items = [
        entries.once(post, "json", n < full, functools.partial(_item_text, site, post, n < full))
        for n, post in enumerate(feed.entries)
    ]
    return b"".join([head[: -len(b"[]\n}")], b"[\n    ", b",\n    ".join(items), b"\n  ]\n}\n"])


def _item_text(site: Site, post: Post, full: bool) -> bytes:
    """An item as ``json.dumps`` writes it inside the document's ``items`` (two levels in:
    its lines indented by four more spaces; a string's newlines are escaped)."""
    text = json.dumps(_item(site, post, full), ensure_ascii=False, indent=2)
    return text.replace("\n", "\n    ").encode("utf-8")


def _item(site: Site, post: Post, full: bool = True) -> dict[str, Any]:
    content = {"content_html": content_html(post)} if full else {"content_text": post.summary}
    item: dict[str, Any] = {
        "id": entry_id(site, post),
        "url": permalink(site, post),
        "title": post.title,
        **content,
        "summary": post.summary or post.title,
        "date_published": post.date.isoformat(),
        "date_modified": post.modified.isoformat(),
        "authors": [{"name": post.author}],
        # The categories, then the post's own tags: JSON Feed has one list for both.
        "tags": list(dict.fromkeys([*(c.name for c in post.categories), *post.tags])),
    }
    if post.image:
        item["image"] = post.image
    attached = enclosure(post)
    if attached is not None:
        url, length, media_type = attached
        item["attachments"] = [{"url": url, "mime_type": media_type, "size_in_bytes": length}]
    # Extensions start with an underscore (JSON Feed 1.1, "Extensions").
    press: dict[str, Any] = {}
    if comment_links(site, post):
        press["comments"] = post.comments
        press["comments_url"] = permalink(site, post) + "#comments"
    press["categories"] = [{"slug": c.slug, "name": c.name} for c in post.categories]
    item["_press"] = press
    return item
