"""A publish's real work, when something changed: load the posts, build every file,
write what changed and record it (``press.publish`` decides whether it is needed)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from jinja2 import Environment

from feeds.build import SUFFIXES
from feeds.model import Post
from feeds.output import Output
from feeds.pages import PageSettings
from feeds.select import next_due, published
from feeds.site import FeedSettings, build_site
from newsletter.model import Week
from press import state
from press.config import Config
from press.content import PostCache, cache_key, load_posts, open_cache, save_cache
from press.files import Stamps
from press.shares import Sharing
from press.state import PublishResult
from press.templates import template_env
from press.write import write_tree


def feed_settings(config: Config) -> FeedSettings:
    return FeedSettings(
        formats=config.feeds.formats,
        items=config.feeds.items,
        hub=config.feeds.hub,
        max_kb=config.feeds.max_kb,
    )


def digest_archive(
    config: Config, posts: Sequence[Post], env: Environment, now: datetime
) -> Iterator[Output]:
    """Web copies of every complete week's digest of the newsletter's category."""
    if not config.newsletter.archive:
        return iter(())
    # Imported here: a site without the archive renders no digest (and starts faster).
    from newsletter.archive import web_copies
    from newsletter.digest import find_category
    from press.digest import digest_settings

    site = config.site
    settings = digest_settings(config)
    category = find_category(posts, settings.category)
    this_week = Week.of(now.astimezone(site.timezone).date())
    return web_copies(env, site, posts, category, settings, before=this_week)


def page_settings(config: Config) -> PageSettings:
    return PageSettings(
        enabled=config.pages.enabled,
        per_page=config.pages.per_page,
        content=config.pages.content,
        home_items=config.pages.home_items,
        formats=config.feeds.formats,
    )


def is_feed(path: str) -> bool:
    return path.startswith("feeds/") and path.endswith(tuple(SUFFIXES.values()))


def build_site_files(
    config: Config,
    now: datetime,
    stamps: Stamps,
    last: dict[str, Any],
    build: str,
    key: str,
    force: bool,
    sharing: Sharing,
    kept: PostCache | None = None,
) -> PublishResult:
    """Build and write the site from ``stamps`` (the posts found), given ``last`` (what
    the last publish recorded), ``build`` (``state.build_key``) and ``key``
    (``state.inputs_key``). ``force``: without the post cache, every file made anew.
    ``kept``: the post cache as an earlier publish in this process left it."""
    var = config.folder("var")
    # --force: a clean build, without the post cache or any file left as it was.
    key_now = cache_key(config)
    if force:
        cache = PostCache(key_now)
    elif kept is not None and kept.key == key_now:
        cache = kept
    else:
        cache = open_cache(config)
    loaded = load_posts(config, cache, stamps, sharing)
    posts = published(loaded.posts, now)
    settings = feed_settings(config)
    env = template_env(config)
    files = chain(
        build_site(config.site, posts, settings, env, page_settings(config)),
        digest_archive(config, posts, env, now),
    )
    reuse = (lambda output: False) if force else state.reusable(config, last, build)
    manifest = var / "public-manifest.json"
    report = write_tree(config.folder("public"), files, manifest, reuse, sharing)
    names = report.written + report.unchanged
    due = next_due(loaded.posts, now)
    skipped = len(loaded.failed)
    result = PublishResult(
        loaded, len(posts), report, files=len(names), next_due=due, cache=cache, skipped=skipped
    )
    outputs = state.output_keys(build, report.keys)
    state.save(config, key, now, due, names, len(posts), outputs, skipped)
    if cache.changed:  # a post parsed, or one gone: the next load needs to know
        save_cache(config, cache)
    if settings.hub:
        from press.websub import announce  # urllib's HTTP client: only for a site with a hub

        changed = [config.site.absolute(p) for p in report.written if is_feed(p)]
        result.announced, result.announce_failed = announce(
            settings.hub, changed, var / "websub-pending.json"
        )
    return result
