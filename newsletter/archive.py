"""The digests' web copies under ``public/newsletter/``, and their index page."""

from __future__ import annotations

from collections.abc import Sequence

from jinja2 import Environment

from feeds.model import Category, Post, Site
from newsletter.digest import digest_weeks, select_week
from newsletter.model import DigestSettings, Week
from newsletter.render import count_text, render_web_copy, week_dates


def web_copies(
    env: Environment,
    site: Site,
    posts: Sequence[Post],
    category: Category,
    settings: DigestSettings,
    before: Week,
) -> dict[str, bytes]:
    """A web copy of every digest of ``category`` before ``before``, and an index of them.

    ``posts`` are the published posts; a week without a post has no digest.
    """
    files: dict[str, bytes] = {}
    listed = []
    for week in digest_weeks(posts, category, site.timezone, before):
        digest = select_week(posts, category, week, site.timezone)
        files[digest.web_path] = render_web_copy(env, site, digest, settings)
        listed.append(
            {
                "url": site.absolute(digest.web_path),
                "week": str(week),
                "dates": week_dates(digest),
                "count": count_text(len(digest.posts)),
                "titles": [p.title for p in digest.posts],
            }
        )
    files["newsletter/index.html"] = (
        env.get_template("newsletter.html.j2")
        .render(site=site, category=category, digests=listed, head_feeds=[])
        .encode("utf-8")
    )
    return files
