"""Turning WordPress export (WXR) items into posts in our Markdown format.

Pure functions of plain values: ``press.wordpress`` reads the file and writes posts/.
"""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from markdownify import MarkdownConverter

from feeds.text import plain_text, slugify, yaml_text

BLOCK = (
    "(?:"
    + "|".join(
        """table thead tfoot caption col colgroup tbody tr td th div dl dd dt ul ol li pre form
    map area blockquote address math style p h[1-6] hr fieldset legend section article aside
    hgroup header footer nav figure figcaption details menu summary iframe script""".split()
    )
    + ")"
)
_BLOCK_START = re.compile(rf"^\s*</?{BLOCK}\b", re.IGNORECASE)
_SHORTCODE = re.compile(r"\[(\w+)([^\]]*)\](?:(.*?)\[/\1\])?", re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)\s*=\s*"([^"]*)"|(\w+)\s*=\s*\'([^\']*)\'')
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_LINKED_IMG = re.compile(
    r"(<a\b[^>]*>\s*<img\b[^>]*>\s*</a>|<img\b[^>]*>)", re.IGNORECASE | re.DOTALL
)
_BARE_URL = re.compile(r"^[ \t]*(https?://\S+)[ \t]*$", re.MULTILINE)


class SkipItem(Exception):
    """An item that does not become a post; the message is the reason."""


@dataclass(frozen=True)
class Attachment:
    url: str
    caption: str = ""


@dataclass
class WxrItem:
    """One ``<item>`` of a WordPress export, as plain text values."""

    position: int
    line: int | None
    title: str = ""
    guid: str = ""
    link: str = ""
    creator: str = ""
    content: str = ""
    excerpt: str = ""
    post_id: str = ""
    post_date: str = ""
    post_date_gmt: str = ""
    modified_gmt: str = ""
    post_name: str = ""
    status: str = ""
    post_type: str = ""
    password: str = ""
    categories: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    approved_comments: int = 0
    thumbnail_id: str = ""

    @property
    def where(self) -> str:
        return f"item {self.position}" + (f" (line {self.line})" if self.line else "")


@dataclass(frozen=True)
class Converted:
    """A post file to write: its name and its text, and whether it is a draft."""

    name: str
    text: str
    guid: str
    draft: bool


PUBLISHED = ("publish", "future")
DRAFTS = ("draft", "pending", "private")


def _datetime(gmt: str, local: str, zone: ZoneInfo) -> datetime | None:
    """WordPress dates: the GMT one when set (drafts have 0000-00-00), else local."""
    for value, tz in ((gmt, UTC), (local, zone)):
        value = value.strip()
        if value and not value.startswith("0000"):
            try:
                return datetime.fromisoformat(value).replace(tzinfo=tz)
            except ValueError:
                continue
    return None


def wpautop(text: str) -> str:
    """WordPress's paragraphs: blank lines separate paragraphs, single newlines are <br>."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    out = []
    for block in blocks:
        if (
            _BLOCK_START.match(block)
            or block.startswith("[caption")
            or block.startswith("[gallery")
        ):
            out.append(block)
        else:
            out.append("<p>" + block.replace("\n", "<br>\n") + "</p>")
    return "\n\n".join(out)


def _attributes(text: str) -> dict[str, str]:
    return {
        (m.group(1) or m.group(3)): (m.group(2) or m.group(4)) for m in _ATTRIBUTE.finditer(text)
    }


def expand_shortcodes(text: str, attachments: dict[str, Attachment], warnings: list[str]) -> str:
    """[caption] becomes a figure, [gallery] a list of images, [embed] and other embeds
    a link; an unknown shortcode is left as it is, with a warning."""

    def replace(match: re.Match[str]) -> str:
        name, attrs, inner = match.group(1).lower(), _attributes(match.group(2)), match.group(3)
        if name in ("caption", "wp_caption"):
            inner = inner or ""
            image = _LINKED_IMG.search(inner)
            caption = attrs.get("caption") or plain_text(_LINKED_IMG.sub("", inner))
            picture = image.group(1) if image else ""
            return (
                f"<figure>{picture}<figcaption>{html_module.escape(caption)}</figcaption></figure>"
            )
        if name == "gallery":
            ids = [i.strip() for i in attrs.get("ids", "").split(",") if i.strip()]
            items = []
            for attachment_id in ids:
                found = attachments.get(attachment_id)
                if found is None:
                    warnings.append(f"gallery image {attachment_id} is not in the export")
                    continue
                alt = html_module.escape(found.caption)
                items.append(f'<li><img src="{html_module.escape(found.url)}" alt="{alt}"></li>')
            return "<ul>" + "".join(items) + "</ul>" if items else ""
        if name in ("embed", "video", "audio", "youtube", "tweet"):
            url = (inner or attrs.get("src") or attrs.get("url") or "").strip()
            return (
                f'<p><a href="{html_module.escape(url)}">{html_module.escape(url)}</a></p>'
                if url
                else ""
            )
        warnings.append(f"shortcode [{name}] left as text")
        return match.group(0)

    return _SHORTCODE.sub(replace, text)


class _Converter(MarkdownConverter):
    """markdownify, keeping figures (with their captions) as HTML."""

    def convert_figure(self, el: object, text: str, **options: object) -> str:
        return f"\n\n{el}\n\n"


def to_markdown(html: str) -> str:
    """Clean Markdown from WordPress's HTML."""
    converter = _Converter(
        heading_style="ATX", bullets="-", escape_underscores=False, autolinks=True
    )
    text: str = converter.convert(html)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def convert(
    item: WxrItem,
    authors: dict[str, str],
    attachments: dict[str, Attachment],
    zone: ZoneInfo,
    warnings: list[str],
) -> Converted:
    """One post item as a Markdown file; raises ``SkipItem`` with the reason otherwise."""
    if item.post_type != "post":
        raise SkipItem(item.post_type or "no post type")
    if item.status in ("trash", "auto-draft", "inherit"):
        raise SkipItem(item.status)
    if item.password:
        raise SkipItem("password-protected")
    title = plain_text(html_module.unescape(item.title))
    if not title:
        raise SkipItem("no title")
    when = _datetime(item.post_date_gmt, item.post_date, zone)
    if when is None:
        raise SkipItem("no date")
    draft = item.status not in PUBLISHED
    slug = slugify(item.post_name) or slugify(title)
    if not slug:
        raise SkipItem("no slug can be made from the title")
    front = [f"title: {yaml_text(title)}", f"date: {when.astimezone(zone).isoformat()}"]
    updated = _datetime(item.modified_gmt, "", zone)
    if updated and updated > when:
        front.append(f"updated: {updated.astimezone(zone).isoformat()}")
    front.append(f"slug: {slug}")
    categories = item.categories or ["Uncategorized"]
    front.append("categories: [" + ", ".join(yaml_text(c) for c in categories) + "]")
    if item.tags:
        front.append("tags: [" + ", ".join(yaml_text(t) for t in item.tags) + "]")
    author = authors.get(item.creator, item.creator)
    if author:
        front.append(f"author: {yaml_text(author)}")
    front.append(f"comments: {item.approved_comments}")
    if item.guid:
        front.append(f"guid: {yaml_text(item.guid)}")
    featured = attachments.get(item.thumbnail_id) if item.thumbnail_id else None
    if featured:
        front.append(f"image: {yaml_text(featured.url)}")
        if featured.caption:
            front.append(f"caption: {yaml_text(plain_text(featured.caption))}")
    if draft:
        front.append("draft: true")
    # A URL alone on its line is a WordPress embed (oEmbed): kept as a link.
    content = _BARE_URL.sub(
        lambda m: f'<p><a href="{m.group(1)}">{m.group(1)}</a></p>', item.content
    )
    body_html = expand_shortcodes(wpautop(content), attachments, warnings)
    text = "---\n" + "\n".join(front) + "\n---\n" + to_markdown(body_html)
    name = f"{when.astimezone(zone):%Y-%m-%d}-{slug}.md"
    return Converted(name, text, item.guid, draft)
