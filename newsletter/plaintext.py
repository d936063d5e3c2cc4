"""Plain text from our sanitised HTML, for the digest's text twin: wrapped, links written out."""

from __future__ import annotations

import textwrap
from html.parser import HTMLParser

WIDTH = 72


def wrap(text: str, width: int = WIDTH, prefix: str = "") -> str:
    """Each paragraph of ``text`` wrapped at ``width`` columns, long URLs left whole."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
    return "\n\n".join(
        textwrap.fill(
            p,
            width=width,
            initial_indent=prefix,
            subsequent_indent=prefix,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for p in paragraphs
        if p
    )


class _Text(HTMLParser):
    BLOCKS = ("p", "li", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "figcaption", "pre")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, str]] = []  # (prefix, text)
        self.current: list[str] = []
        self.quote = 0
        self.lists: list[str] = []
        self.href: str | None = None
        self.link_text: list[str] = []

    def flush(self, marker: str = "") -> None:
        text = " ".join("".join(self.current).split())
        if text:
            prefix = "> " * self.quote
            self.blocks.append((prefix, marker + text))
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS or tag in ("ul", "ol", "br", "figure"):
            self.flush()
        if tag == "blockquote":
            self.quote += 1
        elif tag in ("ul", "ol"):
            self.lists.append(tag)
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.current.append(f"[{alt}]")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.flush("- " if not self.lists or self.lists[-1] == "ul" else "* ")
        elif tag in self.BLOCKS:
            self.flush()
        if tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "a" and self.href:
            text = "".join(self.link_text).strip()
            if self.href not in (text, f"mailto:{text}"):
                self.current.append(f" <{self.href}>")
            self.href = None

    def handle_data(self, data: str) -> None:
        self.current.append(data)
        if self.href is not None:
            self.link_text.append(data)


def html_to_text(html: str, width: int = WIDTH) -> str:
    """Paragraphs wrapped at ``width``, quotes as ``> ``, lists as ``- ``, links ``<url>``."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    parser.flush()
    out = []
    for prefix, text in parser.blocks:
        marker = text[:2] if text.startswith(("- ", "* ")) else ""
        body = wrap(text[len(marker) :], width - len(prefix) - len(marker))
        lines = body.split("\n")
        lines = [marker + lines[0]] + [" " * len(marker) + line for line in lines[1:]]
        out.append("\n".join(prefix + line for line in lines))
    return "\n\n".join(out)
