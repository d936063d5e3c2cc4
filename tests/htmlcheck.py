"""Finding unsafe markup in HTML the way a browser would see it, not by substring."""

from __future__ import annotations

from html.parser import HTMLParser

UNSAFE_TAGS = {"script", "iframe", "object", "embed", "style", "form", "base", "meta", "link"}


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in UNSAFE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag}@{name}")
            url = (value or "").strip().lower().replace("\t", "").replace("\n", "")
            if name in ("href", "src", "action", "formaction") and url.startswith(
                ("javascript:", "vbscript:", "data:text/html")
            ):
                self.found.append(f"{tag}@{name}={value}")


def unsafe_markup(html: str) -> list[str]:
    """Each script-capable tag, event handler, style or script URL in ``html``."""
    finder = _Finder()
    finder.feed(html)
    finder.close()
    return finder.found
