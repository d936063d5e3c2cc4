"""The incremental build, all of it: what the last publish was made from and left, the
post cache, and each output's key. ``press.publish`` asks it whether anything changed;
``press.build`` asks it which posts to parse again and which files to make again.

**Whether to publish at all.** The inputs are fingerprinted by name, size and
modification time (posts, templates, press.toml and press's own code), like make does
(``look``). A publish is needed again when a fingerprint differs, a post dated in the
future comes due, a new week begins (the digest archive grows), a file press wrote is
missing or was changed on disk, or a WebSub hub is still to be told of a change
(``unchanged``).

**Which posts to parse.** A publish keeps what it parsed in ``var/posts-cache/``: each
post (with its summary, once made) under its path, size and modification time, spread
over a few files by a hash of the path so that a change rewrites one of them
(``PostCache``). A cache file is ignored when the site settings or the parser's code
changed since it was written, or it cannot be read: that costs time, never a wrong post.

**Which files to make.** Each output carries a key of what it is made from
(``feeds.output``); joined with the build key it is recorded in the publish state, and a
later publish leaves a file whose key is the same and whose bytes on disk are as written
(``reusable``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from feeds.model import Loaded, Parsed
from feeds.output import Output, output_key
from press.config import Config
from press.files import Stamp, Stamps, files_below, fingerprint, post_stamps
from press.write import WriteFailed, WriteReport, write_atomic

log = logging.getLogger(__name__)
STATE = "publish-state.json"
CACHE = "posts-cache"
SHARDS = 16
PARSER = Path(__file__).parent.parent / "feeds"  # with press.content and this module

Entry = tuple[Stamp, Parsed]


class PostCache:
    """Parsed files by display path, with the stamp each was parsed at, and which of
    the cache files no longer match what is here (to be written). A plain class: a
    dataclass costs the publish that has nothing to do a millisecond to define."""

    def __init__(
        self, key: str, entries: dict[str, Entry] | None = None, stale: set[int] | None = None
    ) -> None:
        self.key = key
        self.entries: dict[str, Entry] = {} if entries is None else entries
        self.stale: set[int] = set(range(SHARDS)) if stale is None else stale

    @property
    def changed(self) -> bool:
        return bool(self.stale)


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
    cache: PostCache | None = None  # the posts as loaded, for the next publish to start from
    skipped: int = 0  # posts that could not be loaded (press check lists why)


CODE = [Path(__file__).parent.parent / name for name in ("feeds", "newsletter", "press")]


def build_key(config: Config) -> str:
    """A fingerprint of what every output depends on: settings, templates and code."""
    paths = []
    for folder in config.template_folders():
        paths += files_below(folder, "*")
    for folder in CODE:
        paths += files_below(folder, "*.py")
    return fingerprint(paths, seed=config.path.read_bytes())


def inputs_key(build: str, posts: Stamps) -> str:
    """A fingerprint of everything a publish reads: ``build_key`` and the posts' stamps."""
    digest = hashlib.sha256(build.encode())
    for name, (_, stamp) in posts.items():
        digest.update(f"{name}\0{stamp}\n".encode())
    return digest.hexdigest()


class Inputs(NamedTuple):
    """What a publish is made from, as found before it loads anything: the posts'
    stamps, the build key (settings, templates, code), the key of both, and what the
    last publish recorded."""

    stamps: Stamps
    build: str
    key: str
    last: dict[str, Any]


def look(config: Config, stamps: Stamps | None = None) -> Inputs:
    """Take stock of the inputs (``stamps``: when the caller has just taken them)."""
    build = build_key(config)
    if stamps is None:
        stamps = post_stamps(config.folder("posts"), config.root)
    return Inputs(stamps, build, inputs_key(build, stamps), previous(config))


def week_of(now: datetime, config: Config) -> str:
    year, week, _ = now.astimezone(config.site.timezone).isocalendar()
    return f"{year}-W{week:02}"


class Known(NamedTuple):
    """What the last publish left, when nothing needs publishing again."""

    files: int
    published: int
    next_due: datetime | None  # when the next post dated ahead comes due
    skipped: int = 0  # posts that could not be loaded


def previous(config: Config) -> dict[str, Any]:
    """What the last publish recorded (empty when there is none, or it is unreadable)."""
    try:
        state = json.loads((config.folder("var") / STATE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def unchanged(config: Config, inputs: Inputs, now: datetime) -> Known | None:
    """What the last publish left, when nothing needs publishing again; else None."""
    state, key = inputs.last, inputs.key
    if not state or state.get("inputs") != key or state.get("week") != week_of(now, config):
        return None
    due = datetime.fromisoformat(state["next_due"]) if state.get("next_due") else None
    if due and due <= now:
        return None
    if _has_items(config.folder("var") / "websub-pending.json"):  # a hub to ask again
        return None
    public = config.folder("public")
    files: dict[str, list[int]] = state.get("files", {})
    for name, (size, mtime, *_) in files.items():
        try:
            stat = (public / name).stat()
        except FileNotFoundError:
            return None
        if stat.st_size != size or stat.st_mtime_ns != mtime:
            return None
    return Known(len(files), int(state.get("published", 0)), due, int(state.get("skipped", 0)))


def record(config: Config, inputs: Inputs, now: datetime, result: PublishResult) -> None:
    """Record what this publish was made from (``inputs``) and what it left in
    ``public/`` (``result``), with each file's key: a later publish leaves a file whose key
    is the same as it is."""
    report = result.report
    save(
        config,
        inputs.key,
        now,
        result.next_due,
        report.written + report.unchanged,
        result.published,
        output_keys(inputs.build, report.keys),
        result.skipped,
    )


def save(
    config: Config,
    key: str,
    now: datetime,
    next_due: datetime | None,
    names: list[str],
    published: int,
    outputs: dict[str, str] | None = None,
    skipped: int = 0,
) -> None:
    """Write the publish state: the inputs' ``key``, the files by name with their size,
    time and key (``outputs``), and what the next publish needs to know."""
    public = config.folder("public")
    outputs = outputs or {}
    files = {}
    for name in names:
        stat = (public / name).stat()
        files[name] = [stat.st_size, stat.st_mtime_ns, outputs.get(name, "")]
    state = {
        "inputs": key,
        "week": week_of(now, config),
        "next_due": next_due.isoformat() if next_due else None,
        "files": files,
        "published": published,
        "skipped": skipped,
    }
    write_atomic(config.folder("var") / STATE, json.dumps(state).encode())


def output_keys(build: str, keys: dict[str, str]) -> dict[str, str]:
    """Each output's key joined with the build key (settings, templates, code); an
    output without a key is made every time, so it keeps none."""
    return {name: output_key(build, key) if key else "" for name, key in keys.items()}


def reusable(config: Config, inputs: Inputs, force: bool = False) -> Callable[[Output], bool]:
    """Whether an output may be left as the last publish wrote it: same key (so the same
    inputs, settings, templates and code), and the file on disk as it was. With
    ``force``, none may."""
    build = inputs.build
    files: dict[str, list[Any]] = inputs.last.get("files") or {}
    if force:
        return lambda output: False
    if not isinstance(files, dict):
        return lambda output: False
    public = config.folder("public")

    def reuse(output: Output) -> bool:
        known = files.get(output.name)
        if not output.key or not known or len(known) < 3 or not known[2]:
            return False
        if known[2] != output_key(build, output.key):
            return False
        try:
            stat = (public / output.name).stat()
        except OSError:
            return False
        return bool([stat.st_size, stat.st_mtime_ns] == known[:2])

    return reuse


def shard(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode("utf-8")) % SHARDS


def cache_key(config: Config) -> str:
    """What parsing depends on besides the file: the site settings and the parser's code."""
    code = [*sorted(PARSER.glob("*.py")), Path(__file__).parent / "content.py", Path(__file__)]
    return fingerprint(code, seed=repr(config.site).encode())


def start_cache(config: Config, force: bool = False, kept: PostCache | None = None) -> PostCache:
    """The post cache a publish starts from: empty with ``force`` (every post parsed
    anew), ``kept`` when an earlier publish in this process left it for these settings,
    else what ``var/posts-cache/`` holds."""
    key = cache_key(config)
    if force:
        return PostCache(key)
    if kept is not None and kept.key == key:
        return kept
    return open_cache(config)


def open_cache(config: Config) -> PostCache:
    """The cache the last publish left; what of it cannot be used is marked stale."""
    import gc
    import pickle  # imported here: a publish with nothing to do reads no cache

    cache = PostCache(cache_key(config), stale=set())
    folder = config.folder("var") / CACHE
    for number in range(SHARDS):
        try:
            with open(folder / f"{number:02}.pickle", "rb") as handle:
                gc.disable()  # a collection in the middle of the load doubles its time
                try:
                    key, entries = pickle.load(handle)
                finally:
                    gc.enable()
        except Exception:  # missing, cut short, from another version: parse again
            cache.stale.add(number)
            continue
        if key != cache.key or not isinstance(entries, dict):
            cache.stale.add(number)
            continue
        cache.entries.update(entries)
    return cache


def save_cache(config: Config, cache: PostCache) -> None:
    """Write the cache files whose posts changed (with any summaries made since)."""
    import pickle

    parts: dict[int, dict[str, Entry]] = {number: {} for number in cache.stale}
    for name, entry in cache.entries.items():
        number = shard(name)
        if number in parts:
            parts[number][name] = entry
    folder = config.folder("var") / CACHE
    for number, entries in parts.items():
        data = pickle.dumps((cache.key, entries), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            write_atomic(folder / f"{number:02}.pickle", data)
        except WriteFailed as error:  # a full or read-only disk: a slower next publish
            log.warning("the post cache was not saved (%s); the next publish parses again", error)
            return
    cache.stale.clear()


def forget(config: Config) -> None:
    """Make the next publish a full one."""
    (config.folder("var") / STATE).unlink(missing_ok=True)


def _has_items(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return False
