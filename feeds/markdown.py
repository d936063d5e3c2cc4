"""Markdown to sanitised HTML, and the plain-text summary of a post.

pulldown-cmark (the Rust CommonMark parser, via pyromark) renders; nh3 (the Rust ammonia
sanitiser) decides what of the HTML survives, unless the body has no raw HTML and links
only to other sites: then pulldown-cmark's HTML is already nh3's. (cmarkgfm was tried
first: its Python wrapper never frees the syntax tree or the rendered string, about
28 KB a post, which a long-running press run cannot afford.)
"""

from __future__ import annotations

import functools
import re

import nh3
import pyromark

from feeds.text import plain_text, shorten

SUMMARY_LIMIT = 500
# CommonMark with tables and strikethrough. Raw HTML passes to the sanitiser (authors
# and imports may write a <figure>), which removes a <script> with its content.
_OPTIONS = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH

# nh3's defaults (no script, style, event handlers or javascript: URLs) plus the
# attributes that prose needs.
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    # Audio and video play where they are (moved blogs have them); their src is checked
    # like a link's (no javascript:), and a link to the file inside stays for readers
    # that drop them.
    "audio": {"src", "controls", "preload"},
    "video": {"src", "controls", "poster", "width", "height", "preload"},
    "source": {"src", "type"},
}
_TAGS = nh3.ALLOWED_TAGS | {"audio", "video", "source"}
# A block that holds paragraphs of its own (skipped), or a paragraph (group 2).
_BLOCK = re.compile(r"<(blockquote|ul|ol|table|figure)\b.*?</\1>|<p>(.*?)</p>", re.DOTALL)


def sanitise_html(html: str, base_url: str | None = None) -> str:
    """HTML with everything unsafe removed, relative links resolved against ``base_url``.

    Most bodies link only to other sites: they are cleaned by one cleaner made once (a
    cleaner made for each call, as ``nh3.clean`` does, costs more than the cleaning).
    One with a link to resolve is cleaned again by a cleaner that resolves it, so the
    bytes are the same either way.
    """
    cleaned = _shared_cleaner().clean(html)
    if base_url and not _only_absolute_links(cleaned):
        resolving = nh3.Cleaner(
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            link_rel=None,
            url_relative=("rewrite_with_base", base_url),
        )
        return resolving.clean(html)
    return cleaned


def _only_absolute_links(cleaned: str) -> bool:
    """Whether every ``href``, ``src`` and ``poster`` (the URLs nh3 resolves) in nh3's
    output is plainly absolute. nh3 writes each attribute as name="value" (a quote in it
    as &quot;), so a link not found here is in no attribute; only the plainly absolute
    forms of ``_ABSOLUTE`` pass (nh3 would leave them as they are): anything else, even
    absolute, is resolved by nh3 itself. (str.find, not a regular expression: this is on
    every post's way.)"""
    for marker in ('href="', 'src="', 'poster="'):
        start = cleaned.find(marker)
        while start != -1:
            start += len(marker)
            end = cleaned.find('"', start)
            if not _ABSOLUTE.match(cleaned, start, end):
                return False
            start = cleaned.find(marker, end)
    return True


_ABSOLUTE = re.compile(r"(?:https?://[A-Za-z0-9.-]+(?::[0-9]+)?(?:[/?#][^\s]*)?|mailto:[^\s]+)\Z")


@functools.cache
def _shared_cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS, attributes=_ATTRIBUTES, link_rel=None, url_relative="pass_through"
    )


# The bidi embeddings and overrides (U+202A–U+202E), which make text read other than it
# is written, leave bodies; isolates and marks stay (a writer of Hebrew or Arabic needs
# them, and HTML's paragraphs end their reach).
_OVERRIDES = dict.fromkeys(range(0x202A, 0x202F))
_OVERRIDE_CHARACTERS = tuple(map(chr, _OVERRIDES))  # looked for first: translate is slow


# Without raw HTML (no "<" in the Markdown), what pulldown-cmark writes otherwise than
# nh3 would: void tags' " />", a table cell's alignment style and a code block's language
# class (nh3 drops both), a no-break space (nh3 writes &nbsp;); the same words in text
# only send a body to nh3. tests/test_markdown.py holds to it (each of these, left out,
# fails it). Looked for with str.find: quicker than one expression.
_NOT_AS_NH3 = (" />", "style=", "class=", "\xa0")


def render_markdown(text: str, base_url: str | None = None) -> str:
    """A post body's Markdown (CommonMark, with tables and strikethrough) as sanitised
    HTML with absolute links, without bidi overrides.

    Most bodies hold no raw HTML and link only to other sites: pulldown-cmark's HTML of
    them is already what nh3 would make of it, byte for byte, and goes out as it is
    (cleaning it would be half the cost of a body). Any other is cleaned."""
    if any(override in text for override in _OVERRIDE_CHARACTERS):
        text = text.translate(_OVERRIDES)
    html = pyromark.html(text, options=_OPTIONS)
    return html if _clean_already(text, html) else sanitise_html(html, base_url)


def _clean_already(markdown: str, html: str) -> bool:
    """Whether nh3 would give ``html`` back as it is: no raw HTML in the Markdown, none of
    ``_NOT_AS_NH3`` in the HTML, and only plainly absolute links."""
    return (
        "<" not in markdown
        and not any(mark in html for mark in _NOT_AS_NH3)
        and _only_absolute_links(html)
    )


def summarise_html(html: str, limit: int = SUMMARY_LIMIT) -> str:
    """The plain text of the first paragraph of rendered HTML that is not in a quote,
    list or table, or ''."""
    for match in _BLOCK.finditer(html):  # the first one, not the whole body
        if match.group(2) is not None:
            return shorten(plain_text(match.group(2)), limit)
    return ""
