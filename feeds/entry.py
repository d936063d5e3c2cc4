"""One post's entry in a feed: what it says (its id, links, content and picture), and
its bytes in an Atom or RSS 2.0 document.

The bytes are feedgen's: ``tests/feedgen_entries.py`` makes whole documents with
feedgen's ``FeedEntry`` and extensions for what feedgen lacks (as press did before), and
``tests/test_feeds.py`` holds every document made here to that, byte for byte. Here an
entry is built in lxml directly, the same elements in the same order, without feedgen's
checks and copies of each field: a cold publish with archives makes an entry for every
post, and feedgen's way cost two thirds of that.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import quote

from lxml import etree

from feeds.model import Post, Site
from feeds.select import tag_terms

SLASH = "http://purl.org/rss/1.0/modules/slash/"
THREAD = "http://purl.org/syndication/thread/1.0"  # RFC 4685, Atom Threading Extensions
MEDIA = "http://search.yahoo.com/mrss/"  # Media RSS
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"


def comment_links(site: Site, post: Post) -> bool:
    """Whether links lead readers to the post's comments (``#comments`` on its page):
    not for a post without a comments section, nor on a site with ``pages.comments``
    "off" (or without pages)."""
    return post.discussion and site.comments != "off"


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


def content_size(post: Post) -> int:
    """The bytes of a post's full content in a feed."""
    return len(content_html(post).encode("utf-8"))


def image_alt(post: Post) -> str:
    """The picture's alt text: ``image_alt``, else the caption, else the title."""
    return post.image_alt or post.caption or post.title


def figure(post: Post) -> str:
    """The post's photo, caption and credit as an HTML figure; a caption without a photo
    as a note of its own (not an empty figure); or ''."""
    if not (post.image or post.caption or post.credit):
        return ""
    credit = f" <small>Photo credit: {escape(post.credit, False)}</small>" if post.credit else ""
    caption = f"{escape(post.caption or '', False)}{credit}".strip()
    if not post.image:
        return f'<p class="caption-note"><em>{caption}</em></p>'
    parts = ["<figure>", f'<img src="{escape(post.image)}" alt="{escape(image_alt(post))}">']
    if caption:
        parts.append(f"<figcaption>{caption}</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def content_html(post: Post) -> str:
    """The full HTML a feed entry carries: the figure, then the body."""
    head = figure(post)
    return f"{head}\n{post.html}" if head else post.html


def enclosure(post: Post) -> tuple[str, int, str] | None:
    """The post's picture as an enclosure (URL, bytes, media type), when all three are
    known: RSS ``<enclosure>`` requires the length."""
    if post.image and post.image_length and post.image_type:
        return post.image, post.image_length, post.image_type
    return None


def _media(entry: Any, post: Post) -> None:
    """Media RSS, in RSS and Atom alike: the post's picture as ``media:content`` (with its
    alt text as ``media:description`` and its ``media:credit``) and as
    ``media:thumbnail``, what feed readers show beside an entry."""
    if not post.image:
        return
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


def _replies(entry: Any, href: str, count: int) -> None:
    """RFC 4685 in an Atom entry, as WordPress writes it: a ``replies`` link to the
    comments with its ``thr:count``, and ``thr:total``."""
    link = etree.SubElement(entry, "link")
    link.attrib.update({"rel": "replies", "type": "text/html", "href": href})
    link.set(f"{{{THREAD}}}count", str(count))
    etree.SubElement(entry, f"{{{THREAD}}}total").text = str(count)


def _enclosure_link(entry: Any, attached: tuple[str, int, str]) -> None:
    """The picture as an Atom ``link rel="enclosure"`` with its type and length."""
    url, length, media_type = attached
    link = etree.SubElement(entry, "link")
    link.attrib.update({"rel": "enclosure", "type": media_type, "length": str(length), "href": url})


def _text(parent: Any, tag: str, text: str | None) -> Any:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc822(when: Any) -> str:
    """feedgen's RSS date (strftime's "%a, %d %b %Y %H:%M:%S %z" in the C locale), without
    its switching of the process's locale."""
    return f"{_DAYS[when.weekday()]}, {when:%d} {_MONTHS[when.month - 1]} {when:%Y %H:%M:%S %z}"


def rss_item(parent: Any, site: Site, post: Post, full: bool) -> None:
    """The post's ``<item>`` in ``parent``, as feedgen's ``rss_entry`` writes it, with
    Dublin Core's creator, slash's comment count and Media RSS."""
    item = etree.SubElement(parent, "item")
    if post.title:
        _text(item, "title", post.title)
    _text(item, "link", permalink(site, post))
    description = post.summary or post.title
    if description:
        _text(item, "description", description)
        if full:
            _text(item, f"{{{CONTENT}}}encoded", content_html(post))
    elif full:
        _text(item, "description", content_html(post))
    _text(item, "guid", rss_guid(site, post)).attrib["isPermaLink"] = "false"
    for category in post.categories:
        _text(item, "category", category.name)
    scheme = site.absolute("/tag/")
    for tag in tag_terms(post):
        _text(item, "category", tag.name).attrib["domain"] = scheme
    comments = comment_links(site, post)
    if comments:
        _text(item, "comments", permalink(site, post) + "#comments")
    attached = enclosure(post)
    if attached is not None:
        url, length, media_type = attached
        element = etree.SubElement(item, "enclosure")
        element.attrib.update({"url": url, "length": str(length), "type": media_type})
    _text(item, "pubDate", rfc822(post.date))
    _text(item, f"{{{DC}}}creator", post.author)
    if comments:
        _text(item, f"{{{SLASH}}}comments", str(post.comments))
    _media(item, post)


def atom_entry(parent: Any, site: Site, post: Post, full: bool) -> None:
    """The post's ``<entry>`` in ``parent``, as feedgen's ``atom_entry`` writes it, with
    threading (RFC 4685), Media RSS and the picture's enclosure link (feedgen's own
    enclosure() keeps only the href: a second alternate link, which validators refuse)."""
    entry = etree.SubElement(parent, "entry")
    _text(entry, "id", entry_id(site, post))
    _text(entry, "title", post.title)
    _text(entry, "updated", post.modified.isoformat())
    if post.author:
        _text(etree.SubElement(entry, "author"), "name", post.author)
    if full:
        content = etree.SubElement(entry, "content")
        content.text = content_html(post) or None
        content.attrib["type"] = "html"
    # feedgen writes an entry's link with its href alone (its rel, type and the rest are
    # looked up on the new element, which has none): rel="alternate" is Atom's default.
    etree.SubElement(entry, "link", href=permalink(site, post))
    summary = post.summary or post.title
    if summary:
        _text(entry, "summary", summary)
    terms = [(category, "") for category in post.categories]
    terms += [(tag, site.absolute("/tag/")) for tag in tag_terms(post)]
    for term, scheme in terms:
        category = etree.SubElement(entry, "category", term=term.slug)
        if scheme:
            category.attrib["scheme"] = scheme
        if term.name:
            category.attrib["label"] = term.name
    _text(entry, "published", post.date.isoformat())
    if comment_links(site, post):
        _replies(entry, permalink(site, post) + "#comments", post.comments)
    _media(entry, post)
    attached = enclosure(post)
    if attached is not None:
        _enclosure_link(entry, attached)


class Entries:
    """Each post's entry as the bytes it has in a pretty-printed Atom or RSS document (or,
    through ``once``, in a JSON Feed), made once and put into every document that
    carries it (the subscription feed, a category's, an archive document): a post is in
    a few feeds, and making its entry is most of what making a feed costs.

    The bytes are what feedgen and lxml give for the whole document: the entry is
    serialised inside a copy of the document's root (its namespaces, at its depth), so
    it takes the same prefixes and indentation.
    """

    def __init__(self) -> None:
        self._made: dict[tuple[int, str, bool], tuple[Post, bytes]] = {}
        self._sizes: dict[int, tuple[Post, int]] = {}

    def size(self, post: Post) -> int:
        """``content_size`` of the post, measured once (for ``full_entries``)."""
        found = self._sizes.get(id(post))
        if found is not None and found[0] is post:
            return found[1]
        size = content_size(post)
        self._sizes[id(post)] = (post, size)
        return size

    def get(self, site: Site, post: Post, kind: str, full: bool, root: Any) -> bytes:
        """The post's Atom or RSS entry (``kind``), with or without its ``full`` content."""
        return self.once(post, kind, full, lambda: _entry_bytes(site, post, kind, full, root))

    def once(self, post: Post, kind: str, full: bool, make: Callable[[], bytes]) -> bytes:
        """The post's entry of ``kind`` as ``make`` makes it, made the first time asked."""
        key = (id(post), kind, full)
        found = self._made.get(key)
        if found is not None and found[0] is post:
            return found[1]
        data = make()
        self._made[key] = (post, data)
        return data


def _entry_bytes(site: Site, post: Post, kind: str, full: bool, root: Any) -> bytes:
    copy = etree.Element(root.tag, dict(root.attrib), nsmap=root.nsmap)
    if kind == "rss":
        rss_item(etree.SubElement(copy, "channel"), site, post, full)
        start, end = b"<item", b"</item>"
    else:
        atom_entry(copy, site, post, full)
        start, end = b"<entry", b"</entry>"
    data: bytes = etree.tostring(copy, pretty_print=True, encoding="UTF-8")
    # Its text is escaped: the first start tag and the last end tag are the entry's own.
    begin = data.rindex(b"\n", 0, data.index(start)) + 1
    return data[begin : data.rindex(end) + len(end) + 1]
