"""The digests' web copies under ``public/newsletter/``, and their index page."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from jinja2 import Environment

from feeds.build import Feed, fill
from feeds.discovery import feed_links
from feeds.entry import Entries, permalink
from feeds.model import FeedSettings, Post, Site
from feeds.output import Output, always, output_key, posts_key
from feeds.site import feed_outputs
from newsletter.digest import (
    digest_weeks,
    find_categories,
    in_categories,
    select_day,
    select_week,
)
from newsletter.model import Digest, DigestSettings, NewsletterSpec, Week
from newsletter.render import count_text, render_web_copy, subject_fields, week_dates


def sent_digests(
    site: Site, posts: Sequence[Post], spec: NewsletterSpec, now: datetime
) -> list[Digest]:
    """Every digest of the weekly or daily newsletter ``spec`` whose week (or day) is
    over at ``now``: a period without a post has none. ``posts`` are the published
    posts."""
    zone = site.timezone
    categories = find_categories(posts, spec)
    today = now.astimezone(zone).date()
    if spec.cadence == "daily":
        daily: dict[date, list[Post]] = {}
        for post in in_categories(posts, categories):
            daily.setdefault(post.date.astimezone(zone).date(), []).append(post)
        return [
            select_day(daily[day], spec, categories, day, zone)
            for day in sorted(daily, reverse=True)
            if day < today
        ]
    weekly: dict[Week, list[Post]] = {}
    for post in in_categories(posts, categories):  # one pass, not one per week
        weekly.setdefault(Week.of(post.date.astimezone(zone).date()), []).append(post)
    return [
        select_week(weekly[week], spec, categories, week, zone)
        for week in digest_weeks(posts, categories, zone, Week.of(today))
    ]


def web_copies(
    env: Environment,
    site: Site,
    digests: Sequence[Digest],
    spec: NewsletterSpec,
    settings: DigestSettings,
    feed: Feed,
    feeds: FeedSettings,
    index: str = "newsletter/index.html",
) -> Iterator[Output]:
    """A web copy of each digest, an ``index`` of them and their ``feed`` (follow the
    digest in a reader, ``digest_feed``), one file at a time."""
    listed = []
    for digest in digests:
        yield Output(
            digest.web_path,
            output_key(
                "web copy", digest.key, digest.newsletter, settings, posts_key(digest.posts)
            ),
            functools.partial(render_web_copy, env, site, digest, settings),
        )
        listed.append(
            {
                "url": site.absolute(digest.web_path),
                "week": digest.period or str(digest.week),
                "dates": week_dates(digest),
                "count": count_text(len(digest.posts)),
                "titles": [p.title for p in digest.posts],
            }
        )
    entries = Entries()
    for document in (feed, *feed.archives):
        yield from feed_outputs(site, document, feeds, entries)
    yield always(
        index,
        lambda: (
            env.get_template("newsletter.html.j2")
            .render(
                site=site,
                newsletter=spec,
                label=" and ".join(spec.categories) or "all",
                digests=listed,
                head_feeds=feed_links(site, feed, feeds.formats),
            )
            .encode("utf-8")
        ),
    )


def digest_entry(site: Site, digest: Digest, settings: DigestSettings) -> Post:
    """One digest as a feed entry: its subject, its web copy's URL, the week's posts as a
    list of links with their summaries, dated by its newest post."""
    lines = [
        f"- [{markdown_text(p.title)}]({permalink(site, p)}): {markdown_text(p.summary)}"
        for p in digest.posts
    ]
    fields = subject_fields(site, digest)
    return Post(
        source=digest.web_path,
        title=digest.newsletter.subject.format(**fields),
        slug=f"digest-{digest.key}",
        date=max(p.date for p in digest.posts),
        categories=digest.categories,
        body="\n".join(lines) + "\n",
        url=site.absolute(digest.web_path),
        author=site.author,
        summary_given=f"{fields['posts']}, {fields['week_dates']}.",
        fingerprint=output_key(posts_key(digest.posts), digest.newsletter.subject),
        updated=max(p.modified for p in digest.posts),
        discussion=False,  # a web copy has no comments
    )


def digest_feed(
    site: Site,
    spec: NewsletterSpec,
    digests: Sequence[Digest],
    settings: DigestSettings,
    feeds: FeedSettings,
    key: str = "newsletter",
    home: str = "/newsletter/",
) -> Feed:
    """The feed of the digests, ``feeds/newsletter.*`` (another newsletter's:
    ``feeds/newsletter/<id>.*``), with archive documents as every feed has."""
    issues = sorted(
        (digest_entry(site, d, settings) for d in digests),
        key=lambda issue: issue.timestamp,
        reverse=True,
    )
    label = " and ".join(spec.categories) if 0 < len(spec.categories) <= 2 else spec.title
    how = "daily" if spec.cadence == "daily" else "weekly"
    period = "day" if spec.cadence == "daily" else "week"
    feed = Feed(
        key=key,
        title=f"{label} {how} digest – {site.title}" if spec.categories else spec.title,
        description=f"The {period}'s {label} commentary from {site.title}, {how}.",
        home=site.absolute(home),
        entries=(),
        category=None,
    )
    return fill(feed, issues, feeds.items, feeds.archives)


def markdown_text(text: str) -> str:
    """Text that Markdown shows as it is (its punctuation escaped)."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!<>|" else c for c in text)
