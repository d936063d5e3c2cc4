"""Loading the project's posts: the files read by ``press``, parsed by ``feeds``.

Each post's body is a ``FileBody``, which reads it back from its file when it is first
rendered (most posts of a big site are not, in a publish): neither the post cache
(``press.incremental``) nor the parsing processes carry a post's Markdown. ``feeds`` is
handed that source and opens nothing itself. With the post cache, only the files whose
size or time changed are read and parsed again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from feeds.comments import comments_path, parse_comments
from feeds.errors import Problem
from feeds.model import Loaded, Parsed, Post, Site
from feeds.posts import collect, file_fingerprint, parse_source, post_body
from press.config import Config
from press.files import PostChanged, Stamp, Stamps, display_path, post_stamps
from press.incremental import PostCache, shard
from press.shares import (
    FAILED,
    NOT_SHARED,
    Sharing,
    Tick,
    fork_out,
    no_tick,
    share_out,
    share_tick,
    ticking,
)

log = logging.getLogger(__name__)


@dataclass
class FileBody:
    """A post's Markdown as a source (``feeds.model.BodySource``): the text while this
    process has it, else read back from ``file`` on first render. Pickled (into the
    cache, or from a parsing process) it keeps only where the file is. The file must
    still hold what was parsed: a post edited in the middle of a publish stops the
    publish (``PostChanged``), and the next one parses it again."""

    source: str  # the post's name in messages
    file: str  # where its file is now: set at each load (the project may have moved)
    fingerprint: str
    text: str | None = None

    def read(self) -> str:
        if self.text is not None:
            return self.text
        try:
            with open(self.file, "rb") as handle:
                data = handle.read()
        except OSError as error:
            raise PostChanged(f"{self.source}: cannot be read: {error.strerror}") from None
        if file_fingerprint(data) != self.fingerprint:
            raise PostChanged(f"{self.source}: changed during the publish; publish again")
        self.text = post_body(self.source, data)
        return self.text

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "text": None}


def with_file_body(post: Post, path: str) -> Post:
    """The post with its body as a ``FileBody`` of ``path`` (the text kept while here)."""
    text = post.body if isinstance(post.body, str) else None
    return dataclasses.replace(post, body=FileBody(post.source, path, post.fingerprint, text))


Result = tuple[Parsed, bool]  # the file's posts and problems; whether it could be read


def read_and_parse(
    files: Sequence[tuple[str, str]], site: Site, tick: Callable[[int], None] | None = None
) -> list[Result]:
    """Parse ``(display name, path)`` files; an unreadable one becomes a problem. ``tick``
    hears how many are done, every 64."""
    results: list[Result] = []
    for name, path in ticking(files, tick):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as error:
            problem = Problem(name, None, f"cannot be read: {error.strerror}")
            results.append((Parsed(None, (problem,)), False))
            continue
        parsed = parse_source(name, data, site)
        if parsed.post is not None:
            parsed = Parsed(with_file_body(parsed.post, path), parsed.problems)
            parsed = with_comments(parsed, name, path, site)
        results.append((parsed, True))
    return results


def with_comments(parsed: Parsed, name: str, path: str, site: Site) -> Parsed:
    """The post with the comments of the file beside it, when there is one: shown on its
    page, and their number is its comment count. Its fingerprint then covers them too,
    so that its page is made again when they change."""
    post = parsed.post
    assert post is not None
    try:
        with open(comments_path(path), "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return parsed
    except OSError as error:
        problem = Problem(comments_path(name), None, f"cannot be read: {error.strerror}")
        return Parsed(post, (*parsed.problems, problem))
    thread, problems = parse_comments(comments_path(name), data, site)
    mixed = hashlib.blake2b(f"{post.fingerprint}\0".encode() + data, digest_size=16).hexdigest()
    post = dataclasses.replace(post, thread=thread, comments=len(thread), fingerprint=mixed)
    return Parsed(post, (*parsed.problems, *problems))


def parse_files(
    files: Sequence[tuple[str, str]],
    site: Site,
    sharing: Sharing = NOT_SHARED,
    progress: Tick = no_tick,
) -> list[Result]:
    """``read_and_parse``, shared by this process and ``processes - 1`` others when there
    are many files (a cold publish of a big site); the results come back in the order of
    ``files``, and ``progress`` hears how many are done as it goes.

    Only the ``press`` command asks for processes: a child process may start by importing
    the parent's main module, which a program embedding press may not expect. If the
    processes fail to start or die, the files are parsed here instead.
    """
    total = len(files)
    # forkserver is the safe way from a process that runs threads (the scheduler); it
    # starts each process afresh, which pays only from more files.
    method = "fork" if sharing.may_fork() else "forkserver"
    least = sharing.parse_from if method == "fork" else sharing.spawn_from
    if total < least or sharing.processes < 2:
        results = read_and_parse(files, site, share_tick(progress, total))
    else:
        results = _parse_shared(files, site, sharing, method, progress)
    progress(total, total)
    return results


def _parse_shared(
    files: Sequence[tuple[str, str]], site: Site, sharing: Sharing, method: str, progress: Tick
) -> list[Result]:
    # Forked: a child through a pipe (no pool: less to start, which pays from a few
    # hundred files).
    function = functools.partial(read_and_parse, site=site)
    here = functools.partial(function, tick=share_tick(progress, len(files), sharing.processes))
    try:
        if method == "fork":
            return fork_out(function, files, sharing, here=here)
        return share_out(function, files, sharing, method, here=here)
    except FAILED as error:
        count = sharing.processes
        log.warning("parsing in %d processes failed (%s); parsing here", count, error)
        return read_and_parse(files, site, share_tick(progress, len(files)))


def _found(parsed: Parsed, path: str) -> None:
    """Tell a kept post where its file is now."""
    if parsed.post is not None and isinstance(parsed.post.body, FileBody):
        parsed.post.body.file = path


def load_posts(
    config: Config,
    cache: PostCache | None = None,
    stamps: Stamps | None = None,
    sharing: Sharing = NOT_SHARED,
    progress: Tick = no_tick,
) -> Loaded:
    """Every post under the posts folder, with every problem met on the way.

    With a ``cache``, unchanged files are taken from it and the cache is brought up to
    date (``cache.changed`` tells whether it needs saving). ``progress`` hears how many
    of the files to parse are parsed.
    """
    site = config.site
    folder = config.folder("posts")
    stamps = post_stamps(folder, config.root) if stamps is None else stamps
    results: list[Parsed] = []
    if not folder.is_dir():
        problem = Problem(display_path(folder, config.root), None, "the posts folder is missing")
        results.append(Parsed(None, (problem,)))
    kept: dict[str, tuple[Stamp, Parsed]] = {}
    todo: list[tuple[str, str]] = []
    for name, (path, stamp) in stamps.items():
        known = cache.entries.get(name) if cache is not None else None
        if known is not None and stamp is not None and known[0] == stamp:
            kept[name] = known
            _found(known[1], path)
            results.append(known[1])
        else:
            todo.append((name, path))
    for (name, path), (parsed, read) in zip(
        todo, parse_files(todo, site, sharing, progress), strict=True
    ):
        _found(parsed, path)
        results.append(parsed)
        stamp = stamps[name][1]
        if read and stamp is not None:  # a file that could not be read is tried again
            kept[name] = (stamp, parsed)
    limit = config.posts.max_kb * 1024
    for name, (_, stamp) in stamps.items():
        if limit and stamp is not None and stamp[0] > limit:
            size = f"{stamp[0] // 1024:,} KB"
            message = (
                f"the file is {size}, over posts.max_kb ({config.posts.max_kb:,} KB): feeds "
                "carry its summary once it passes feeds.max_kb, and mail clients may cut it"
            )
            results.append(Parsed(None, (Problem(name, None, message, "warning"),)))
    if cache is not None:
        for name in kept.keys() ^ cache.entries.keys():  # new files, and files gone
            cache.stale.add(shard(name))
        for name, entry in kept.items():
            if cache.entries.get(name) is not entry:  # parsed again
                cache.stale.add(shard(name))
        cache.entries = kept
    return collect(results)
