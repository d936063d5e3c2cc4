"""Choosing what is published: drafts and posts dated in the future stay out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from feeds.model import Category, Post


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
    names: dict[str, Category] = {}
    grouped: dict[str, list[Post]] = {}
    for post in posts:
        for category in post.categories:
            names.setdefault(category.slug, category)
            grouped.setdefault(category.slug, []).append(post)
    return {names[slug]: tuple(grouped[slug]) for slug in sorted(grouped)}


def next_due(posts: Iterable[Post], now: datetime) -> datetime | None:
    """When the next post dated in the future comes due, if any is waiting."""
    moment = now.timestamp()
    waiting = [p.date for p in posts if not p.draft and p.timestamp > moment]
    return min(waiting, default=None)
