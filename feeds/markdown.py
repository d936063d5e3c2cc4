"""Markdown to sanitised HTML, and the plain-text summary of a post."""

from __future__ import annotations

from functools import cache

import nh3
from markdown_it import MarkdownIt

from feeds.text import fold_space, shorten

SUMMARY_LIMIT = 500

# nh3's defaults (no script, style, event handlers or javascript: URLs) plus the
# attributes that prose needs.
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
}


@cache
def _parser() -> MarkdownIt:
    # CommonMark with raw HTML allowed: authors and imports may write a <figure>; the
    # sanitiser below decides what of it survives.
    return MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def sanitise_html(html: str, base_url: str | None = None) -> str:
    """HTML with everything unsafe removed, relative links resolved against ``base_url``."""
    return nh3.clean(
        html,
        attributes=_ATTRIBUTES,
        link_rel=None,
        url_relative=("rewrite_with_base", base_url) if base_url else "pass_through",
    )


def render_markdown(text: str, base_url: str | None = None) -> str:
    """A post body's Markdown as sanitised HTML with absolute links."""
    return sanitise_html(_parser().render(text), base_url)


def summarise(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """The plain text of the first top-level paragraph of some Markdown, or ''."""
    tokens = _parser().parse(text)
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and token.level == 0:
            words = []
            for child in tokens[index + 1].children or []:
                if child.type in ("text", "code_inline"):
                    words.append(child.content)  # entities are already decoded
                elif child.type in ("softbreak", "hardbreak"):
                    words.append(" ")
            return shorten(fold_space("".join(words)), limit)
    return ""
