"""Choosing what is published: drafts and posts dated in the future stay out."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime

from feeds.model import Category, Post
from feeds.text import slugify


def published(posts: Iterable[Post], now: datetime) -> tuple[Post, ...]:
    """The posts a reader may see at ``now``, newest first."""
    moment = now.timestamp()
    return tuple(newest_first(p for p in posts if not p.draft and p.timestamp <= moment))


def newest_first(posts: Iterable[Post]) -> list[Post]:
    """Posts by date, newest first; the slug orders posts of the same moment."""
    return sorted(posts, key=lambda p: (p.timestamp, p.slug), reverse=True)


def by_category(posts: Iterable[Post]) -> dict[Category, tuple[Post, ...]]:
    """Each category's posts, in the order given; categories sorted by slug.

    Names that give one slug ("China-U.S." and "China-US") are one category, named as
    the first post met spells it.
    """
    return _grouped(posts, lambda post: post.categories)


def by_tag(posts: Iterable[Post]) -> dict[Category, tuple[Post, ...]]:
    """Each tag's posts, as ``by_category`` gives each category's."""
    return _grouped(posts, tag_terms)


def tag_terms(post: Post) -> tuple[Category, ...]:
    """A post's tags as terms with a slug (``kind`` "tag"): one a slug, in the post's
    order; a tag with no letter or digit has none (it stays a JSON Feed tag)."""
    terms: dict[str, Category] = {}
    for name in post.tags:
        term = _tag(name)
        if term is not None:
            terms.setdefault(term.slug, term)
    return tuple(terms.values())


@functools.lru_cache(maxsize=4096)
def _tag(name: str) -> Category | None:
    slug = slugify(name)
    return Category(name, slug, "tag") if slug else None


def _grouped(
    posts: Iterable[Post], terms: Callable[[Post], Iterable[Category]]
) -> dict[Category, tuple[Post, ...]]:
    names: dict[str, Category] = {}
    grouped: dict[str, list[Post]] = {}
    for post in posts:
        for term in terms(post):
            names.setdefault(term.slug, term)
            grouped.setdefault(term.slug, []).append(post)
    return {names[slug]: tuple(grouped[slug]) for slug in sorted(grouped)}


def next_due(posts: Iterable[Post], now: datetime) -> datetime | None:
    """When the next post dated in the future comes due, if any is waiting."""
    moment = now.timestamp()
    waiting = [p.date for p in posts if not p.draft and p.timestamp > moment]
    return min(waiting, default=None)
