"""Plain-text helpers: slugs, and text that is safe in XML, headers and titles."""

from __future__ import annotations

import html
import json
import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Characters XML 1.0 forbids (C0 controls but tab, newline and CR; surrogates; U+FFFE/F),
# plus the C1 controls and DEL, which are legal but never meant in prose.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# The same for ASCII bytes, to drop with bytes.translate.
ASCII_CONTROLS = bytes(c for c in range(128) if _FORBIDDEN.match(chr(c)))
# Bidi controls (embeddings, overrides, isolates, marks) and invisible characters with no
# part in spelling: in a title or a name they can reverse or hide what a reader sees
# ("U+202E" turns "txt.exe" around). The joiners U+200C/D stay: scripts and emoji need them.
_INVISIBLE = re.compile(
    "[\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_TAG = re.compile(r"<[^>]*>")
# A run of white space other than one plain space (which would be put back as it is).
_SPACE = re.compile(r"[\t\r\n\f\v][ \t\r\n\f\v]*| [ \t\r\n\f\v]+")


def strip_controls(text: str) -> str:
    """Remove the characters that XML 1.0 forbids, and other control characters."""
    return _FORBIDDEN.sub("", text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """Text for a log line or a terminal: control characters (CR and LF among them)
    written as escapes (``\\r``), so no stored value can forge a line."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def plain_text(text: str) -> str:
    """Text with tags stripped, entities decoded, controls removed and spaces folded."""
    text = _TAG.sub("", text)
    text = html.unescape(text)
    text = _TAG.sub("", text)  # entities may have spelled out a tag: "&lt;b&gt;"
    return fold_space(text)


def fold_space(text: str) -> str:
    """Text without control, bidi or invisible characters, each run of white space one
    space, trimmed."""
    return _SPACE.sub(" ", _INVISIBLE.sub("", strip_controls(text))).strip()


def slugify(text: str) -> str:
    """A URL slug: lower case ASCII, punctuation dropped, spaces to hyphens.

    "China-U.S." gives "china-us"; "Financial Services" gives "financial-services".
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9\s-]", "", ascii_text.lower())
    return re.sub(r"[\s-]+", "-", words).strip("-")


def shorten(text: str, limit: int) -> str:
    """Text cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def long_date(when: datetime, zone: ZoneInfo) -> str:
    """``16 September 2022`` in ``zone``, whatever the process locale."""
    local = when.astimezone(zone)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}"


def yaml_text(value: str) -> str:
    """``value`` as a YAML double-quoted scalar (a JSON string is one): quotes,
    backslashes, line breaks and controls escaped, other characters as they are."""
    return json.dumps(value, ensure_ascii=False)
