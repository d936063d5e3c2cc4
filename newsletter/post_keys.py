"""What a ``post`` newsletter needs to email each post once, ever: the names a post goes
by, and which posts are new enough to email.

A post can be edited, its file renamed, retitled, back-dated, published again with
``--force`` or imported again; one name alone would take some of those for a new post.
So a post has several names, and it is the post emailed before when any one of them was
emailed before (and its new names are then remembered too):

- its permanent id (the feeds' ``id``: its ``guid``, else the date and slug);
- its ``guid``, when it has one (what an import keeps);
- its text (when there is enough of it to tell posts apart);
- its file name with its date, and its file name with its title: a file renamed keeps
  its text, one retitled keeps its date, one back-dated keeps its title; a file name
  used again for a new post has a new date and a new title.

Each name is kept as a hash, ``kind:sha256``, so no length or character is a problem.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath

from feeds.entry import entry_id
from feeds.model import Category, Post, Site
from feeds.text import slugify
from newsletter.model import NewsletterSpec

TEXT_ENOUGH = 80  # characters of text (spaces aside) before the text names a post


def _name(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:40]}"


def post_keys(site: Site, post: Post) -> tuple[str, ...]:
    """The post's names, hashed; the first is its permanent id."""
    keys = [_name("id", entry_id(site, post))]
    if post.guid:
        keys.append(_name("guid", post.guid))
    text = " ".join(post.markdown.split())
    if len(text.replace(" ", "")) >= TEXT_ENOUGH:
        keys.append(_name("text", text))
    file = PurePath(post.source).name
    day = f"{post.date.astimezone(site.timezone):%Y-%m-%d}"
    keys.append(_name("file-date", f"{file}\n{day}"))
    keys.append(_name("file-title", f"{file}\n{slugify(post.title)}"))
    return tuple(dict.fromkeys(keys))


def fresh_posts(
    posts: Sequence[Post], spec: NewsletterSpec, categories: Sequence[Category], now: datetime
) -> list[Post]:
    """The published ``posts`` of the newsletter's categories dated within its
    ``max_age_days`` of ``now``, oldest first: the ones it may still email. An older post
    that appears (an import, a restored backup, a back-dated file) is never emailed."""
    oldest = now - timedelta(days=spec.max_age_days)
    wanted = {c.slug for c in categories}
    chosen = [
        p
        for p in posts
        if oldest <= p.date <= now and (not wanted or any(c.slug in wanted for c in p.categories))
    ]
    return sorted(chosen, key=lambda p: (p.date, p.slug))
