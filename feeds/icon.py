"""The site's default icon: its initials on a square, as SVG (``favicon.svg``), for a
site that sets no ``site.icon``: browsers and readers find an icon, not a 404."""

from __future__ import annotations

from html import escape

from feeds.model import Site

BACKGROUND = "#8a1c1c"  # the pages' accent colour
FOREGROUND = "#ffffff"


def initials(title: str) -> str:
    """Up to two letters: the first of the title's first two words (``CB`` for China
    Bystander), or its first letter; ``?`` for a title with no letter."""
    words = ["".join(c for c in word if c.isalnum()) for word in title.split()]
    letters = [word[0] for word in words if word][:2]
    return "".join(letters).upper() or "?"


def default_icon(site: Site) -> bytes:
    """The SVG of the site's initials, white on the pages' red, as a rounded square."""
    letters = escape(initials(site.title))
    size = 30 if len(letters) > 1 else 40
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" rx="10" fill="{BACKGROUND}"/>'
        f'<text x="32" y="33" fill="{FOREGROUND}" font-family="Georgia, serif" '
        f'font-size="{size}" font-weight="bold" text-anchor="middle" '
        f'dominant-baseline="central">{letters}</text></svg>\n'
    ).encode()
