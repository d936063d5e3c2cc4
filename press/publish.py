"""The publish run: the one path that the CLI, the scheduler and the tests all take."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from feeds.model import Loaded
from press import state
from press.config import Config
from press.files import Stamps, post_stamps
from press.lock import held
from press.state import PublishResult
from press.write import WriteReport

if TYPE_CHECKING:
    from press.content import PostCache

__all__ = ["PublishResult", "cpu_processes", "publish"]


def cpu_processes() -> int:
    """How many processes the press command parses posts in: one a core, up to four."""
    return min(os.cpu_count() or 1, 4)


def publish(
    config: Config,
    now: datetime,
    on_wait: Callable[[str], None] = lambda holder: None,
    force: bool = False,
    processes: int = 1,
    cache: PostCache | None = None,
    stamps: Stamps | None = None,
) -> PublishResult:
    """Load the posts, build every file and write what changed, under the publish lock.

    When nothing it reads has changed since the last publish (``press.state``), it returns
    at once without loading a post; ``force`` builds everything anyway. ``processes``
    (the ``press`` command gives one a core) parse a big site's posts in parallel.
    ``cache``: the ``cache`` of an earlier result in this process (``press run`` keeps
    it), instead of reading ``var/posts-cache/`` again; ``stamps``: the posts' stamps when
    the caller has just taken them (``press run``'s watcher), instead of again.
    """
    var = config.folder("var")
    with held(var / "publish.lock", on_wait=on_wait):
        build = state.build_key(config)
        if stamps is None:
            stamps = post_stamps(config.folder("posts"), config.root)
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
                cache=cache,
                skipped=known.skipped,
            )
        # Imported only now: a publish with nothing to do answers without loading the
        # code that parses posts and renders feeds, pages and digests.
        from press.build import build_site_files

        return build_site_files(config, now, stamps, last, build, key, force, processes, cache)
