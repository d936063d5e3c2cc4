"""The publish run: the one path that the CLI, the scheduler and the tests all take."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from feeds.model import Loaded
from press import incremental
from press.config import Config
from press.files import Stamps
from press.incremental import PostCache, PublishResult
from press.lock import held
from press.progress import Meter, unwatched
from press.shares import NOT_SHARED, Sharing
from press.write import WriteReport

__all__ = ["PublishResult", "publish"]


def publish(
    config: Config,
    now: datetime,
    on_wait: Callable[[str], None] = lambda holder: None,
    force: bool = False,
    sharing: Sharing = NOT_SHARED,
    cache: PostCache | None = None,
    stamps: Stamps | None = None,
    meter: Meter = unwatched,
) -> PublishResult:
    """Load the posts, build every file and write what changed, under the publish lock.

    When nothing it reads has changed since the last publish (``press.incremental``), it returns
    at once without loading a post; ``force`` builds everything anyway. ``sharing``
    (the ``press`` command gives one process a core) parses and makes a big site's files in
    parallel.
    ``cache``: the ``cache`` of an earlier result in this process (``press run`` keeps
    it), instead of reading ``var/posts-cache/`` again; ``stamps``: the posts' stamps when
    the caller has just taken them (``press run``'s watcher), instead of again;
    ``meter``: how the progress of a long build shows (``press publish``: on the terminal).
    """
    var = config.folder("var")
    with held(var / "publish.lock", on_wait=on_wait):
        inputs = incremental.look(config, stamps)
        known = None if force else incremental.unchanged(config, inputs, now)
        if known is not None:
            return PublishResult(
                Loaded(()),
                known.published,
                WriteReport(),
                fast=True,
                files=known.files,
                next_due=known.next_due,
                cache=cache,
                skipped=known.skipped,
            )
        # Imported only now: a publish with nothing to do answers without loading the
        # code that parses posts and renders feeds, pages and digests.
        from press.build import build_site_files

        cache = incremental.start_cache(config, force, kept=cache)
        return build_site_files(config, now, inputs, cache, force, sharing, meter)
