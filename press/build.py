"""A publish's real work, when something changed: load the posts, build every file,
write what changed and record it (``press.publish`` decides whether it is needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import chain

from jinja2 import Environment

from feeds.build import SUFFIXES, Feed
from feeds.model import Post
from feeds.output import Output
from feeds.select import next_due, published
from feeds.site import build_site
from feeds.sitemap import page_path, sitemap_outputs
from press import incremental
from press.config import Config
from press.content import load_posts
from press.incremental import Inputs, PostCache, PublishResult, save_cache
from press.progress import Meter, unwatched
from press.shares import NOT_SHARED, Sharing
from press.templates import template_env
from press.write import write_tree


def digest_archive(
    config: Config, posts: Sequence[Post], env: Environment, now: datetime
) -> tuple[list[Output], list[Feed]]:
    """Web copies of every complete week's digest of the newsletter's category, and
    their feed (for the feeds' index and OPML to list)."""
    if not config.newsletter.archive:
        return [], []
    # Imported here: a site without the archive renders no digest (and starts faster).
    from newsletter.archive import digest_feed, sent_digests, web_copies

    site = config.site
    settings = config.newsletter
    files: list[Output] = []
    feeds: list[Feed] = []
    # The first weekly newsletter's archive is newsletter/ and its feed feeds/newsletter.*
    # (where a site of one digest has them); another's, newsletter/<id>/ and
    # feeds/newsletter/<id>.*. A post newsletter's archive is its categories' pages.
    scheduled = [s for s in config.newsletters if s.cadence in ("weekly", "daily")]
    first = next((s for s in scheduled if s.cadence == "weekly"), None)
    for spec in scheduled:
        key, home = ("newsletter", "/newsletter/")
        if spec != first:
            key, home = f"newsletter/{spec.id}", f"/newsletter/{spec.id}/"
        digests = sent_digests(site, posts, spec, now)
        feed = digest_feed(site, spec, digests, settings, config.feeds, key, home)
        index = f"{home.strip('/')}/index.html"
        files += web_copies(env, site, digests, spec, settings, feed, config.feeds, index)
        feeds.append(feed)
    return files, feeds  # a page a week: few  # a page a week: few


def is_feed(path: str) -> bool:
    return path.startswith("feeds/") and path.endswith(tuple(SUFFIXES.values()))


def build_site_files(
    config: Config,
    now: datetime,
    inputs: Inputs,
    cache: PostCache,
    force: bool = False,
    sharing: Sharing = NOT_SHARED,
    meter: Meter = unwatched,
) -> PublishResult:
    """Load the posts (parsing those ``cache`` does not hold as they are), build every
    file, write those that changed (with ``force``, make every one anew), record what was
    made from what (``press.incremental``) and tell a WebSub hub of the feeds that
    changed. ``meter`` shows the progress of the parsing and of the writing."""
    with meter("parsing", "post") as parsing:
        loaded = load_posts(config, cache, inputs.stamps, sharing, parsing.update)
    posts = published(loaded.posts, now)
    env = template_env(config)
    archive, digest_feeds = digest_archive(config, posts, env, now)
    site_files = build_site(config.site, posts, config.feeds, env, config.pages, digest_feeds)
    files = chain(site_files, archive)
    if config.pages.enabled:
        pages = [page_path(o.name) for o in archive if o.name.endswith(".html")]
        files = chain(files, sitemap_outputs(config.site, posts, config.pages, pages))
    reuse = incremental.reusable(config, inputs, force)
    manifest = config.folder("var") / "public-manifest.json"
    with meter("writing", "file") as writing:
        report = write_tree(
            config.folder("public"), files, manifest, reuse, sharing, writing.update
        )
    result = PublishResult(
        loaded,
        len(posts),
        report,
        files=len(report.written) + len(report.unchanged),
        next_due=next_due(loaded.posts, now),
        cache=cache,
        skipped=len(loaded.failed),
    )
    incremental.record(config, inputs, now, result)
    if cache.changed:  # a post parsed, or one gone: the next load needs to know
        save_cache(config, cache)
    if config.feeds.hub:
        announce_feeds(config, report.written, result)
    return result


def announce_feeds(config: Config, written: list[str], result: PublishResult) -> None:
    """Tell the WebSub hub of each feed written; those it could not be told of are kept
    in ``var/`` for the next publish to try again."""
    from press.websub import announce  # urllib's HTTP client: only for a site with a hub

    changed = [config.site.absolute(p) for p in written if is_feed(p)]
    result.announced, result.announce_failed = announce(
        config.feeds.hub, changed, config.folder("var") / "websub-pending.json"
    )
