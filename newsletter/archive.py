"""The digests' web copies under ``public/newsletter/``, and their index page."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from jinja2 import Environment

from feeds.model import Category, Post, Site
from feeds.output import Output, always, output_key, posts_key
from newsletter.digest import digest_weeks, in_category, select_week
from newsletter.model import DigestSettings, Week
from newsletter.render import count_text, render_web_copy, week_dates


def web_copies(
    env: Environment,
    site: Site,
    posts: Sequence[Post],
    category: Category,
    settings: DigestSettings,
    before: Week,
) -> Iterator[Output]:
    """A web copy of every digest of ``category`` before ``before``, and an index of them,
    one file at a time.

    ``posts`` are the published posts; a week without a post has no digest.
    """
    listed = []
    weekly: dict[Week, list[Post]] = {}
    for post in in_category(posts, category):  # one pass, not one per week
        weekly.setdefault(Week.of(post.date.astimezone(site.timezone).date()), []).append(post)
    for week in digest_weeks(posts, category, site.timezone, before):
        digest = select_week(weekly[week], category, week, site.timezone)
        yield Output(
            digest.web_path,
            output_key("web copy", str(week), settings, posts_key(digest.posts)),
            functools.partial(render_web_copy, env, site, digest, settings),
        )
        listed.append(
            {
                "url": site.absolute(digest.web_path),
                "week": str(week),
                "dates": week_dates(digest),
                "count": count_text(len(digest.posts)),
                "titles": [p.title for p in digest.posts],
            }
        )
    yield always(
        "newsletter/index.html",
        lambda: (
            env.get_template("newsletter.html.j2")
            .render(site=site, category=category, digests=listed, head_feeds=[])
            .encode("utf-8")
        ),
    )
