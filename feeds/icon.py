"""The site's default icon: its initials on a square, for a site that sets no
``site.icon``: as SVG (``favicon.svg``), as ``favicon.ico`` (what browsers and feed
readers ask for when a page names no icon) and as a PNG (``apple-touch-icon.png``, the
home-screen icon, the feeds' logo and the RSS image), so none of them gets a 404."""

from __future__ import annotations

import io
from html import escape
from typing import Any

from feeds.model import Site

ICON_DRAWING = 1  # changes with how the PNG and ICO are drawn: they are made again
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


def default_png(site: Site, size: int = 180) -> bytes:
    """The initials as a PNG of ``size`` pixels (180: the iPhone home screen's)."""
    output = io.BytesIO()  # square: iOS rounds the corners itself
    _drawn(site, size, rounded=False).save(output, format="PNG", optimize=True)
    return output.getvalue()


def default_ico(site: Site) -> bytes:
    """``favicon.ico``: the initials at 16, 32 and 48 pixels."""
    output = io.BytesIO()
    _drawn(site, 256).save(output, format="ICO", sizes=[(16, 16), (32, 32), (48, 48)])
    return output.getvalue()


def _drawn(site: Site, size: int, rounded: bool = True) -> Any:
    """The SVG's picture drawn by Pillow: its bundled font (Aileron), emboldened, white
    on the accent colour. (A letter the font lacks, as a CJK one, is drawn as a box.)"""
    # On first use: only a publish needs it. The two formats named (their plugins register
    # on import), so that saving does not make Pillow load all of its format plugins.
    from PIL import IcoImagePlugin, Image, ImageDraw, ImageFont, PngImagePlugin  # noqa: F401

    letters = initials(site.title)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    radius = size * 10 // 64 if rounded else 0
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=radius, fill=BACKGROUND)
    font = ImageFont.load_default(size=size * (30 if len(letters) > 1 else 40) // 64)
    middle = (size / 2, size / 2)
    stroke = max(1, size // 64)
    draw.text(middle, letters, fill=FOREGROUND, font=font, anchor="mm", stroke_width=stroke,
              stroke_fill=FOREGROUND)  # fmt: skip
    return image
