"""Choosing a digest's posts: one ISO week of a newsletter's categories, in the site's
time zone."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from feeds.model import Category, Post
from feeds.text import slugify
from newsletter.model import Digest, NewsletterSpec, Week

WEEK = re.compile(r"(\d{4})-?W(\d{1,2})", re.IGNORECASE)


class WeekError(ValueError):
    """A week that cannot be read, or a category no post is filed under."""


def parse_week(text: str) -> Week:
    """``2022-W37`` (or ``2022W37``) as a ``Week``; raises ``WeekError`` if it is not one."""
    match = WEEK.fullmatch(text.strip())
    if not match:
        raise WeekError(f"not an ISO week: {text!r} (like 2022-W37)")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        Week(year, number).monday  # noqa: B018 - checks the week exists
    except ValueError:
        raise WeekError(f"{year} has no week {number}") from None
    return Week(year, number)


def parse_day(text: str) -> date:
    """``2022-09-16`` as a date; raises ``WeekError`` if it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WeekError(f"not a day: {text!r} (like 2022-09-16)") from None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Midnight to midnight, local time (23 or 25 hours at DST)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def previous_day(now: datetime, zone: ZoneInfo) -> date:
    """The last complete day before ``now``."""
    return (now.astimezone(zone) - timedelta(days=1)).date()


def select_day(
    posts: Sequence[Post],
    spec: NewsletterSpec,
    categories: tuple[Category, ...],
    day: date,
    zone: ZoneInfo,
) -> Digest:
    """The daily digest of ``day``: the categories' posts dated in it, newest first."""
    start, end = day_bounds(day, zone)
    chosen = [p for p in in_categories(posts, categories) if start <= p.date < end]
    chosen.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return Digest(spec, categories, Week.of(day), start, end, tuple(chosen), day.isoformat())


def latest_day(
    posts: Sequence[Post], categories: Sequence[Category], zone: ZoneInfo
) -> date | None:
    """The newest day that has any post of the categories."""
    dates = [p.date for p in in_categories(posts, categories)]
    return max(dates).astimezone(zone).date() if dates else None


def select_post(
    spec: NewsletterSpec, categories: Sequence[Category], post: Post, period: str, zone: ZoneInfo
) -> Digest:
    """A ``post`` newsletter's email of one post; ``period`` names it in the ledger.
    Its categories are the post's that the newsletter draws from."""
    wanted = {c.slug for c in categories}
    own = tuple(c for c in post.categories if not wanted or c.slug in wanted)
    when = post.date.astimezone(zone)
    return Digest(spec, own, Week.of(when.date()), when, when, (post,), period)


def week_bounds(week: Week, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, local time (167 or 169 hours at DST)."""
    start = datetime.combine(week.monday, time(0), tzinfo=zone)
    end = datetime.combine(week.monday + timedelta(days=7), time(0), tzinfo=zone)
    return start, end


def previous_week(now: datetime, zone: ZoneInfo) -> Week:
    """The last complete week before ``now``."""
    return Week.of((now.astimezone(zone) - timedelta(days=7)).date())


def find_category(posts: Sequence[Post], name: str) -> Category:
    """The category called ``name`` (compared by slug), as the posts spell it."""
    slug = slugify(name)
    for post in posts:
        for category in post.categories:
            if category.slug == slug:
                return category
    return Category(name, slug)


def category_names(posts: Sequence[Post]) -> list[str]:
    """Every category the posts are filed under, as they spell it, sorted."""
    names = {c.slug: c.name for post in posts for c in post.categories}
    return sorted(names.values(), key=str.casefold)


def unknown_category(posts: Sequence[Post], name: str) -> str | None:
    """Why ``name`` is no category of these posts (with the nearest one), or None."""
    known = category_names(posts)
    if slugify(name) in {slugify(k) for k in known}:
        return None
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(known) or 'none'})"
    return f"no post is filed under {name!r}{hint}"


def find_categories(posts: Sequence[Post], spec: NewsletterSpec) -> tuple[Category, ...]:
    """The newsletter's categories, as the posts spell them; empty: every category."""
    return tuple(find_category(posts, name) for name in spec.categories)


def in_categories(posts: Sequence[Post], categories: Sequence[Category]) -> list[Post]:
    """The posts filed under any of ``categories`` (each once); every post when empty."""
    if not categories:
        return list(posts)
    wanted = {c.slug for c in categories}
    return [p for p in posts if any(c.slug in wanted for c in p.categories)]


def select_week(
    posts: Sequence[Post],
    spec: NewsletterSpec,
    categories: tuple[Category, ...],
    week: Week,
    zone: ZoneInfo,
) -> Digest:
    """The digest of ``week``: the categories' posts dated in it, newest first.

    ``posts`` are the published posts.
    """
    start, end = week_bounds(week, zone)
    chosen = [p for p in in_categories(posts, categories) if start <= p.date < end]
    chosen.sort(key=lambda p: (p.date, p.slug), reverse=True)
    return Digest(spec, categories, week, start, end, tuple(chosen))


def latest_week(
    posts: Sequence[Post], categories: Sequence[Category], zone: ZoneInfo
) -> Week | None:
    """The newest week that has any post of the categories."""
    dates = [p.date for p in in_categories(posts, categories)]
    return Week.of(max(dates).astimezone(zone).date()) if dates else None


def digest_weeks(
    posts: Sequence[Post], categories: Sequence[Category], zone: ZoneInfo, before: Week
) -> list[Week]:
    """Every week before ``before`` that has a post of the categories, newest first."""
    weeks = {Week.of(p.date.astimezone(zone).date()) for p in in_categories(posts, categories)}
    return sorted((w for w in weeks if w < before), reverse=True)
