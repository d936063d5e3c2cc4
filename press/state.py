"""What the last publish was made from, so that a publish with nothing changed is instant.

The inputs are fingerprinted by name, size and modification time (posts, templates,
press.toml and press's own code), like make does. A publish is needed again when a
fingerprint differs, a post dated in the future comes due, a new week begins (the
digest archive grows), a file press wrote is missing or was changed on disk, or a
WebSub hub is still to be told of a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from feeds.model import Loaded
from feeds.output import Output, output_key
from press.config import Config
from press.files import Stamps, files_below, fingerprint
from press.write import WriteReport, write_atomic

if TYPE_CHECKING:
    from press.content import PostCache

STATE = "publish-state.json"


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
    paths = files_below(config.folder("templates"), "*")
    for folder in CODE:
        paths += files_below(folder, "*.py")
    return fingerprint(paths, seed=config.path.read_bytes())


def inputs_key(build: str, posts: Stamps) -> str:
    """A fingerprint of everything a publish reads: ``build_key`` and the posts' stamps."""
    digest = hashlib.sha256(build.encode())
    for name, (_, stamp) in posts.items():
        digest.update(f"{name}\0{stamp}\n".encode())
    return digest.hexdigest()


def week_of(now: datetime, config: Config) -> str:
    year, week, _ = now.astimezone(config.site.timezone).isocalendar()
    return f"{year}-W{week:02}"


@dataclass(frozen=True)
class Known:
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


def unchanged(config: Config, state: dict[str, Any], now: datetime, key: str) -> Known | None:
    """What the last publish left (``state``), when nothing needs publishing again;
    else None."""
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
    """Record what this publish was made from and what it left in ``public/``.

    ``outputs`` holds each file's key (``feeds.output``), made whole with ``key``'s build
    part by the caller: a later publish leaves a file whose key is the same as it is.
    """
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


def reusable(config: Config, state: dict[str, Any], build: str) -> Callable[[Output], bool]:
    """Whether an output may be left as the last publish (``state``) wrote it: same key
    (so the same inputs, settings, templates and code), and the file on disk as it was."""
    files: dict[str, list[Any]] = state.get("files") or {}
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


def forget(config: Config) -> None:
    """Make the next publish a full one."""
    (config.folder("var") / STATE).unlink(missing_ok=True)


def _has_items(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return False
