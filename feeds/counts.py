"""Counts in messages a person reads, in words that agree with their number (a module of
its own: the quickest commands print counts and load nothing else)."""

from __future__ import annotations


def counted(number: int, noun: str, plural: str = "") -> str:
    """A count for a message a person reads: ``1 post``, ``2 posts``, ``1,416 posts``
    (``plural`` when adding an s will not do)."""
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"
