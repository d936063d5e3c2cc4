"""Turning WordPress export (WXR) items into posts in our Markdown format.

Pure functions of plain values: ``press.wordpress`` reads the file and writes posts/.
"""

from __future__ import annotations

import html as html_module
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from markdownify import MarkdownConverter

from feeds.text import long_date, plain_text, shorten, slugify, yaml_text

# WordPress's block tags, as wpautop names them.
_ALLBLOCKS = (
    "(?:table|thead|tfoot|caption|col|colgroup|tbody|tr|td|th|div|dl|dd|dt|ul|ol|li|pre"
    "|form|map|area|blockquote|address|style|p|h[1-6]|hr|fieldset|legend|section|article"
    "|aside|hgroup|header|footer|nav|figure|figcaption|details|menu|summary)"
)
_TAG = re.compile(r"<[^>]*>")  # wp_replace_in_html_tags's idea of a tag, comments too
_SHORTCODE = re.compile(r"\[(\w+)([^\]]*)\](?:(.*?)\[/\1\])?", re.DOTALL)
_ATTRIBUTE = re.compile(r'(\w+)\s*=\s*"([^"]*)"|(\w+)\s*=\s*\'([^\']*)\'')
_LINKED_IMG = re.compile(
    r"(<a\b[^>]*>\s*<img\b[^>]*>\s*</a>|<img\b[^>]*>)", re.IGNORECASE | re.DOTALL
)
_BARE_URL = re.compile(r"^[ \t]*(https?://\S+)[ \t]*$", re.MULTILINE)


class SkipItem(Exception):
    """An item that does not become a post; the message is the reason."""


@dataclass(frozen=True)
class Attachment:
    """A picture (or other file) in the export: its URL, caption (the excerpt) and alt
    text, the post it is attached to and its place among that post's files."""

    url: str
    caption: str = ""
    alt: str = ""
    parent: str = ""
    order: int = 0


@dataclass(frozen=True)
class WxrComment:
    """An approved comment of an item: what a reader saw, never the commenter's email or
    IP address (the importer does not read them)."""

    id: str
    author: str
    url: str
    date_gmt: str
    date: str
    parent: str
    content: str


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
    comments: list[WxrComment] = field(default_factory=list)  # approved, not pingbacks
    thumbnail_id: str = ""

    @property
    def where(self) -> str:
        return f"item {self.position}" + (f" (line {self.line})" if self.line else "")


@dataclass(frozen=True)
class Converted:
    """A post file to write: its name and its text, whether it is a draft, and the
    item's key in the export (its ``wp:post_id``, else its guid)."""

    name: str
    text: str
    guid: str
    draft: bool
    slug: str = ""
    key: str = ""
    comments: str = ""  # the comments file's text (feeds.comments), "" for none
    renamed: str = ""  # why its name is not the one its slug gives, if it is not


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
    """WordPress's own ``wpautop`` (wp-includes/formatting.php), step for step: blank lines
    make paragraphs and single newlines ``<br>``, but never inside ``<pre>``, a tag's
    attributes or ``<script>``/``<style>``, and never next to a block tag, so tables,
    lists and code keep their shape. Block-editor content (``<!-- wp:`` comments) has
    its paragraphs already, as WordPress knows: it is left as it is."""
    if not text.strip():
        return ""
    if "<!-- wp:" in text:
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n") + "\n"
    pre_tags: dict[str, str] = {}
    if "<pre" in text:
        parts = text.split("</pre>")
        last = parts.pop()
        text = ""
        for part in parts:
            start = part.find("<pre")
            if start == -1:
                text += part
                continue
            name = f"<pre wp-pre-tag-{len(pre_tags)}></pre>"
            pre_tags[name] = part[start:] + "</pre>"
            text += part[:start] + name
        text += last
    text = re.sub(r"<br\s*/?>\s*<br\s*/?>", "\n\n", text)
    text = re.sub(rf"(<{_ALLBLOCKS}[\s/>])", r"\n\n\1", text)
    text = re.sub(rf"(</{_ALLBLOCKS}>)", r"\1\n\n", text)
    text = re.sub(r"(<hr\s*?/?>)", r"\1\n\n", text)
    text = _TAG.sub(lambda m: m.group(0).replace("\n", " <!-- wpnl --> "), text)
    if "<option" in text:
        text = re.sub(r"\s*<option", "<option", text)
        text = re.sub(r"</option>\s*", "</option>", text)
    if "</object>" in text:
        text = re.sub(r"(<object[^>]*>)\s*", r"\1", text)
        text = re.sub(r"\s*</object>", "</object>", text)
        text = re.sub(r"\s*(</?(?:param|embed)[^>]*>)\s*", r"\1", text)
    if "<source" in text or "<track" in text:
        text = re.sub(r"([<\[](?:audio|video)[^>\]]*[>\]])\s*", r"\1", text)
        text = re.sub(r"\s*([<\[]/(?:audio|video)[>\]])", r"\1", text)
        text = re.sub(r"\s*(<(?:source|track)[^>]*>)\s*", r"\1", text)
    if "<figcaption" in text:
        text = re.sub(r"\s*(<figcaption[^>]*>)", r"\1", text)
        text = re.sub(r"</figcaption>\s*", "</figcaption>", text)
    text = re.sub(r"\n\n+", "\n\n", text)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p]
    text = "".join("<p>" + p.strip("\n") + "</p>\n" for p in paragraphs)
    text = re.sub(r"<p>\s*</p>", "", text)
    text = re.sub(r"<p>([^<]+)</(div|address|form)>", r"<p>\1</p></\2>", text)
    text = re.sub(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(r"<p>(<li.+?)</p>", r"\1", text)
    text = re.sub(r"<p><blockquote([^>]*)>", r"<blockquote\1><p>", text, flags=re.IGNORECASE)
    text = text.replace("</blockquote></p>", "</p></blockquote>")
    text = re.sub(rf"<p>\s*(</?{_ALLBLOCKS}[^>]*>)", r"\1", text)
    text = re.sub(rf"(</?{_ALLBLOCKS}[^>]*>)\s*</p>", r"\1", text)
    text = re.sub(
        r"<(script|style|svg|math).*?</\1>",
        lambda m: m.group(0).replace("\n", "<WPPreserveNewline />"),
        text,
        flags=re.DOTALL,
    )
    text = text.replace("<br>", "<br />").replace("<br/>", "<br />")
    text = re.sub(r"(?<!<br />)\s*\n", "<br />\n", text)
    text = text.replace("<WPPreserveNewline />", "\n")
    text = re.sub(rf"(</?{_ALLBLOCKS}[^>]*>)\s*<br />", r"\1", text)
    text = re.sub(r"<br />(\s*</?(?:p|li|div|dl|dd|dt|th|pre|td|ul|ol)[^>]*>)", r"\1", text)
    text = re.sub(r"\n</p>$", "</p>", text)
    for name, original in pre_tags.items():
        text = text.replace(name, original)
    return text.replace(" <!-- wpnl --> ", "\n").replace("<!-- wpnl -->", "\n")


def _attributes(text: str) -> dict[str, str]:
    return {
        (m.group(1) or m.group(3)): (m.group(2) or m.group(4)) for m in _ATTRIBUTE.finditer(text)
    }


# WordPress's shortcode_unautop: a shortcode alone in its paragraph is not in one.
_ALONE = re.compile(
    r"<p>\s*(\[(caption|wp_caption|gallery|audio|video|playlist|embed)\b[^\]]*\]"
    r"(?:.*?\[/\2\])?)\s*</p>",
    re.DOTALL | re.IGNORECASE,
)
_MEDIA_KEYS = {
    "audio": ("src", "mp3", "m4a", "ogg", "wav", "flac"),
    "video": ("src", "mp4", "m4v", "webm", "ogv", "wmv", "flv", "mov"),
}
_POSITIONAL_URL = re.compile(r"(?:^|\s)(https?://[^\s\]]+)")


def expand_shortcodes(
    text: str, attachments: dict[str, Attachment], warnings: list[str], post_id: str = ""
) -> str:
    """[caption] becomes a figure, [gallery] a figure a picture (with no ``ids``, the
    pictures attached to the post ``post_id``), [audio] and [video] players with a link
    to their file inside, [embed] and other embeds a link; an unknown shortcode is left
    as it is, with a warning."""
    text = _ALONE.sub(r"\1", text)

    def replace(match: re.Match[str]) -> str:
        name, attrs, inner = match.group(1).lower(), _attributes(match.group(2)), match.group(3)
        positional = _POSITIONAL_URL.search(match.group(2))
        if name in ("caption", "wp_caption"):
            inner = inner or ""
            image = _LINKED_IMG.search(inner)
            caption = attrs.get("caption") or plain_text(_LINKED_IMG.sub("", inner))
            picture = image.group(1) if image else ""
            return (
                f"<figure>{picture}<figcaption>{html_module.escape(caption)}</figcaption></figure>"
            )
        if name == "gallery":
            return _gallery(attrs, attachments, warnings, post_id)
        if name in _MEDIA_KEYS:
            url = next((attrs[k] for k in _MEDIA_KEYS[name] if attrs.get(k)), "")
            url = (url or (positional.group(1) if positional else "") or inner or "").strip()
            if not url:
                warnings.append(f"[{name}] names no file; left out")
                return ""
            href = html_module.escape(url)
            poster = attrs.get("poster", "")
            extra = f' poster="{html_module.escape(poster)}"' if poster else ""
            link = f'<a href="{href}">{html_module.escape(url.rsplit("/", 1)[-1] or url)}</a>'
            return f'<figure><{name} controls src="{href}"{extra}>{link}</{name}></figure>'
        if name in ("embed", "youtube", "tweet"):
            url = (inner or attrs.get("src") or attrs.get("url") or "").strip()
            url = url or (positional.group(1) if positional else "")
            return (
                f'<p><a href="{html_module.escape(url)}">{html_module.escape(url)}</a></p>'
                if url
                else ""
            )
        warnings.append(f"shortcode [{name}] left as text")
        return match.group(0)

    return _SHORTCODE.sub(replace, text)


def _gallery(
    attrs: dict[str, str], attachments: dict[str, Attachment], warnings: list[str], post_id: str
) -> str:
    """A [gallery]'s pictures, each a figure with its caption. ``ids`` (or ``include``)
    name them; without, they are the pictures attached to the post, in WordPress's
    order (menu order, then id), less ``exclude``."""
    named = attrs.get("ids") or attrs.get("include") or ""
    ids = [i.strip() for i in named.split(",") if i.strip()]
    if not ids:
        attached = [(a.order, _number(i), i) for i, a in attachments.items() if a.parent == post_id]
        ids = [i for _, _, i in sorted(attached)] if post_id else []
        if not ids:
            warnings.append("[gallery] has no pictures attached in the export; left out")
    excluded = {i.strip() for i in attrs.get("exclude", "").split(",")}
    figures = []
    for attachment_id in ids:
        if attachment_id in excluded:
            continue
        found = attachments.get(attachment_id)
        if found is None:
            warnings.append(f"gallery image {attachment_id} is not in the export")
            continue
        src, alt = html_module.escape(found.url), html_module.escape(found.alt or found.caption)
        caption = plain_text(found.caption)
        below = f"<figcaption>{html_module.escape(caption)}</figcaption>" if caption else ""
        figures.append(f'<figure><img src="{src}" alt="{alt}">{below}</figure>')
    return "\n".join(figures)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else 0


# What of a tag's attributes the Markdown keeps where it stays HTML (a figure, a table
# too rich for Markdown, audio and video): the block editor's classes, data-* and
# srcset are noise to a reader and the sanitiser drops them anyway.
_KEPT_ATTRIBUTES = frozenset(
    "src href alt title width height controls poster type colspan rowspan cite".split()
)
_BACKGROUND = re.compile(r"background-image:\s*url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)
_INLINE_TWICE = ("strong", "b", "em", "i")


def _tidy(element: Any) -> str:
    """An element as HTML with only the attributes a reader needs; ``<audio>`` and
    ``<video>`` get ``controls`` and a link to their file inside (what a reader that
    drops them shows instead: never nothing)."""
    from bs4 import Comment

    for comment in element.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()  # the block editor's <!-- wp:image --> markers
    for node in [element, *element.find_all(True)]:
        node.attrs = {k: v for k, v in node.attrs.items() if k in _KEPT_ATTRIBUTES}
        if node.name in ("audio", "video"):
            node.attrs.pop("autoplay", None)
            node["controls"] = ""
            source = node.get("src") or next(
                (s.get("src") for s in node.find_all("source") if s.get("src")), None
            )
            if source and not node.find("a"):
                link = element.__class__(name="a", attrs={"href": source}, builder=None)
                link.string = source.rsplit("/", 1)[-1] or source
                node.append(link)
    html = str(element).replace(' controls=""', " controls")
    # A blank line would end the HTML block: what follows would be read as Markdown.
    return re.sub(r"\n\s*\n", "\n", html)


class _Converter(MarkdownConverter):
    """markdownify, keeping as HTML what Markdown has no form for: figures (with their
    captions), audio and video, definition lists, tables whose cells hold blocks or
    span; ``<sub>``/``<sup>`` stay tags; an address keeps its lines."""

    def convert_figure(self, el: Any, text: str, **options: object) -> str:
        inner = [child for child in el.children if getattr(child, "name", None)]
        if inner and all(child.name == "figure" for child in inner):  # a gallery's
            return "".join(f"\n\n{_tidy(child)}\n\n" for child in inner)
        return f"\n\n{_tidy(el)}\n\n"

    def convert_audio(self, el: Any, text: str, **options: object) -> str:
        return f"\n\n{_tidy(el)}\n\n"

    convert_video = convert_audio

    def convert_dl(self, el: Any, text: str, **options: object) -> str:
        return f"\n\n{_tidy(el)}\n\n"

    def convert_table(self, el: Any, text: str, **options: object) -> str:
        cells = el.find_all(["td", "th"])
        rich = any(c.get("colspan") or c.get("rowspan") for c in cells) or any(
            c.find(["p", "ul", "ol", "table", "pre", "blockquote", "br", "dl"]) for c in cells
        )
        if rich:
            return f"\n\n{_tidy(el)}\n\n"
        return str(MarkdownConverter.convert_table(self, el, text, **options))  # type: ignore[attr-defined]

    def convert_br(self, el: Any, text: str, parent_tags: Any) -> str:
        if "pre" in parent_tags:  # a line break in code is a newline
            return "\n" + text
        return str(MarkdownConverter.convert_br(self, el, text, parent_tags))  # type: ignore[attr-defined]

    def convert_address(self, el: Any, text: str, **options: object) -> str:
        lines = [line.strip() for line in text.strip().split("\\\n")]
        return "\n\n" + "\\\n".join(line for line in lines if line) + "\n\n"

    def convert_div(self, el: Any, text: str, **options: object) -> str:
        # A cover block's picture may be only its background.
        found = _BACKGROUND.search(str(el.get("style", "")))
        picture = f"![]({found.group(1)})\n\n" if found else ""
        return f"\n\n{picture}{text.strip()}\n\n" if picture or text.strip() else ""


def _unnest(soup: Any) -> None:
    """``<strong>a <strong>b</strong></strong>`` as ``<strong>a b</strong>``: Markdown's
    ``**`` cannot nest, and markdownify writes ``**a **b****``."""
    for tag in _INLINE_TWICE:
        for node in soup.find_all(tag):
            for inner in node.find_all(tag):
                inner.unwrap()


def to_markdown(html: str) -> str:
    """Clean Markdown from WordPress's HTML."""
    from bs4 import BeautifulSoup

    converter = _Converter(
        heading_style="ATX",
        bullets="-",
        escape_underscores=False,
        autolinks=True,
        newline_style="backslash",
        sub_symbol="<sub>",
        sup_symbol="<sup>",
    )
    soup = BeautifulSoup(html, "html.parser")  # parsed once: tidied, then converted
    _unnest(soup)
    text: str = converter.convert_soup(soup)
    text = re.sub(r"[ \t]+$", "", text, flags=re.MULTILINE)  # no lines of bare spaces
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def untitled(content: str, when: datetime, zone: ZoneInfo) -> str:
    """A title for a post without one: its text's first words, else its date."""
    text = plain_text(html_module.unescape(_SHORTCODE.sub(" ", content)))
    if text:
        return shorten(text, 60)
    return f"Untitled, {long_date(when, zone)}"


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
    when = _datetime(item.post_date_gmt, item.post_date, zone)
    if when is None:
        raise SkipItem("no date")
    title = plain_text(html_module.unescape(item.title))
    if not title:  # WordPress publishes it, shown as "(no title)": a title from its text
        title = untitled(item.content, when, zone)
        warnings.append(f"no title; titled {title!r}")
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
    # No comments: key: the comments file beside the post is its count, so the two
    # never disagree (delete a comment, or the file, and the count follows).
    comments = comments_file(item.comments, title, zone)
    if item.guid:
        front.append(f"guid: {yaml_text(item.guid)}")
    excerpt = plain_text(html_module.unescape(item.excerpt))
    if excerpt:
        front.append(f"summary: {yaml_text(excerpt)}")
    featured = attachments.get(item.thumbnail_id) if item.thumbnail_id else None
    if featured:
        front.append(f"image: {yaml_text(featured.url)}")
        if featured.caption:
            front.append(f"caption: {yaml_text(plain_text(featured.caption))}")
        if featured.alt:
            front.append(f"image_alt: {yaml_text(plain_text(featured.alt))}")
    if draft:
        front.append("draft: true")
    # A URL alone on its line is a WordPress embed (oEmbed): kept as a link.
    content = _BARE_URL.sub(
        lambda m: f'<p><a href="{m.group(1)}">{m.group(1)}</a></p>', item.content
    )
    body_html = expand_shortcodes(wpautop(content), attachments, warnings, item.post_id)
    text = "---\n" + "\n".join(front) + "\n---\n" + to_markdown(body_html)
    name = f"{when.astimezone(zone):%Y-%m-%d}-{slug}.md"
    key = f"wp:{item.post_id}" if item.post_id.strip() else (item.guid or name)
    return Converted(name, text, item.guid, draft, slug, key, comments)


def comments_file(comments: list[WxrComment], title: str, zone: ZoneInfo) -> str:
    """The comments file (``feeds.comments``) of a post's approved comments, oldest
    first, each comment's text as Markdown; "" when it has none (its count is theirs)."""
    entries = []
    for comment in comments:
        when = _datetime(comment.date_gmt, comment.date, zone)
        text = to_markdown(wpautop(comment.content)).strip()
        if when is None or not text:
            continue
        entry: dict[str, str] = {"id": comment.id.strip(), "author": plain_text(comment.author)}
        if comment.url.strip().startswith(("http://", "https://")):
            entry["url"] = comment.url.strip()
        entry["date"] = when.astimezone(zone).isoformat()
        if comment.parent.strip() not in ("", "0"):
            entry["parent"] = comment.parent.strip()
        entry["text"] = text + "\n"
        entries.append(entry)
    if not entries:
        return ""
    head = (
        f"# Comments on {title}\n"
        "# Imported from WordPress: approved ones only, with the commenters' names and\n"
        "# sites, never their email or IP addresses. Delete one to hide it; press shows\n"
        "# them under the post and counts them.\n"
    )
    body = yaml.dump(entries, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=88)
    return head + body


class _Dumper(yaml.SafeDumper):
    """YAML with each multi-line text as a literal block, as a person would write it."""


def _text_block(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text_block)
