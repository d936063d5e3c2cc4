"""One file to publish, described before it is made: what lets a publish skip the files
whose inputs did not change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from feeds.model import Post


@dataclass(frozen=True)
class Output:
    """A file under ``public/``: its name, a key that changes whenever its bytes could
    (``""``: always make it), and how to make the bytes. ``about``: the timestamp of
    the newest post it shows (0: none or all), so that the files that show the same
    posts, which render them once, are made in one process."""

    name: str
    key: str
    make: Callable[[], bytes]
    about: float = 0.0


def output_key(*parts: object) -> str:
    """A short hash of plain values (names, numbers, post fingerprints)."""
    return hashlib.blake2b(repr(parts).encode("utf-8"), digest_size=16).hexdigest()


def posts_key(posts: Iterable[Post | None]) -> tuple[str, ...]:
    """The part of a key that stands for some posts: their fingerprints, in order."""
    return tuple(post.fingerprint if post else "" for post in posts)


def made(name: str, data: bytes) -> Output:
    """An output whose bytes are already made (its key is their hash)."""
    return Output(name, hashlib.blake2b(data, digest_size=16).hexdigest(), lambda: data)


def always(name: str, make: Callable[[], bytes]) -> Output:
    """An output made on every publish: cheap, and depends on everything (an index)."""
    return Output(name, "", make)
