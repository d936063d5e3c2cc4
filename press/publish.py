"""The publish run: the one path that the CLI, the scheduler and the tests all take."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from jinja2 import Environment

from feeds.build import SUFFIXES
from feeds.model import Post
from feeds.output import Output
from feeds.pages import PageSettings
from feeds.posts import Loaded
from feeds.select import next_due, published
from feeds.site import FeedSettings, build_site
from newsletter.archive import web_copies
from newsletter.digest import find_category
from newsletter.model import Week
from press import state
from press.config import Config
from press.content import PostCache, cache_key, load_posts, open_cache, post_stamps, save_cache
from press.digest import digest_settings
from press.lock import held
from press.templates import template_env
from press.websub import announce
from press.write import WriteReport, write_tree


@dataclass
class PublishResult:
    """What a publish run found and did."""

    loaded: Loaded
    published: int
    report: WriteReport
    announced: list[str] = field(default_factory=list)
    announce_failed: list[str] = field(default_factory=list)
    fast: bool = False  # nothing had changed: no post was loaded, no file built
    files: int = 0
    next_due: datetime | None = None  # when the next post dated ahead comes due


def cpu_processes() -> int:
    """How many processes the press command parses posts in: one a core, up to four."""
    return min(os.cpu_count() or 1, 4)


def feed_settings(config: Config) -> FeedSettings:
    return FeedSettings(
        formats=config["feeds.formats"], items=config["feeds.items"], hub=config["feeds.hub"]
    )


def digest_archive(
    config: Config, posts: Sequence[Post], env: Environment, now: datetime
) -> Iterator[Output]:
    """Web copies of every complete week's digest of the newsletter's category."""
    site = config.site
    settings = digest_settings(config)
    if not settings.archive:
        return iter(())
    category = find_category(posts, settings.category)
    this_week = Week.of(now.astimezone(site.timezone).date())
    return web_copies(env, site, posts, category, settings, before=this_week)


def page_settings(config: Config) -> PageSettings:
    return PageSettings(
        enabled=config["pages.enabled"],
        per_page=config["pages.per_page"],
        content=config["pages.content"],
        home_items=config["pages.home_items"],
        formats=config["feeds.formats"],
    )


def is_feed(path: str) -> bool:
    return path.startswith("feeds/") and path.endswith(tuple(SUFFIXES.values()))


def publish(
    config: Config,
    now: datetime,
    on_wait: Callable[[str], None] = lambda holder: None,
    force: bool = False,
    processes: int = 1,
) -> PublishResult:
    """Load the posts, build every file and write what changed, under the publish lock.

    When nothing it reads has changed since the last publish (``press.state``), it returns
    at once without loading a post; ``force`` builds everything anyway. ``processes``
    (the ``press`` command gives one a core) parse a big site's posts in parallel.
    """
    var = config.folder("var")
    with held(var / "publish.lock", on_wait=on_wait):
        build = state.build_key(config)
        stamps = post_stamps(config)
        key = state.inputs_key(build, stamps)
        last = state.previous(config)
        known = None if force else state.unchanged(config, last, now, key)
        if known is not None:
            return PublishResult(
                Loaded(()),
                known.published,
                WriteReport(),
                fast=True,
                files=known.files,
                next_due=known.next_due,
            )
        # --force: a clean build, without the post cache or any file left as it was.
        cache = PostCache(cache_key(config)) if force else open_cache(config)
        loaded = load_posts(config, cache, stamps, processes)
        posts = published(loaded.posts, now)
        settings = feed_settings(config)
        env = template_env(config)
        files = chain(
            build_site(config.site, posts, settings, env, page_settings(config)),
            digest_archive(config, posts, env, now),
        )
        reuse = (lambda output: False) if force else state.reusable(config, last, build)
        report = write_tree(config.folder("public"), files, var / "public-manifest.json", reuse)
        names = report.written + report.unchanged
        due = next_due(loaded.posts, now)
        result = PublishResult(loaded, len(posts), report, files=len(names), next_due=due)
        outputs = state.output_keys(build, report.keys)
        state.save(config, key, now, due, names, len(posts), outputs)
        if cache.changed:  # a post parsed, or one gone: the next load needs to know
            save_cache(config, cache)
        if settings.hub:
            changed = [config.site.absolute(p) for p in report.written if is_feed(p)]
            result.announced, result.announce_failed = announce(
                settings.hub, changed, var / "websub-pending.json"
            )
    return result
