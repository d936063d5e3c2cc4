"""Parsing and validating posts: Markdown files with YAML front matter.

Every function here takes text and plain values; reading the files is ``press``'s job.
One bad post never stops the others: ``parse_posts`` reports it and goes on.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar
from urllib.parse import quote, urljoin, urlsplit

import yaml

from feeds.errors import PostError, Problem
from feeds.model import Category, Loaded, Parsed, Post, Site
from feeds.select import newest_first
from feeds.text import ASCII_CONTROLS, plain_text, slugify, strip_controls

T = TypeVar("T")
# libyaml's loader where PyYAML was built with it: same results, several times faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FENCE = "---"
KNOWN_KEYS = (
    "title",
    "date",
    "categories",
    "slug",
    "summary",
    "updated",
    "author",
    "image",
    "caption",
    "credit",
    "image_alt",
    "image_type",
    "image_length",
    "comments",
    "draft",
    "guid",
    "tags",
)
TYPED_KEYS = frozenset({"date", "updated", "comments", "draft", "image_length"})
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "null", "bool", "int", "float", "timestamp", "seq", "map")
)


@dataclass(frozen=True)
class _Field:
    """One front-matter value with the line it stands on (1-based, in the file)."""

    node: yaml.Node
    value: Any
    line: int


def permalink_path(site: Site, slug: str, when: datetime) -> str:
    """A post's path on the site, from the permalink pattern (``/2022/09/16/slug/``)."""
    local = when.astimezone(site.timezone)
    return site.permalink.format(year=local.year, month=local.month, day=local.day, slug=slug)


def parse_posts(sources: Iterable[tuple[str, bytes]], site: Site) -> Loaded:
    """Load every ``(path, content)`` pair; bad posts become problems, not exceptions.

    ``sources`` may be a generator: each file is parsed as it comes. Posts come back
    newest first. A slug used twice keeps the first path in sorted order and reports the
    others.
    """
    return collect(parse_source(path, data, site) for path, data in sources)


def parse_source(path: str, data: bytes, site: Site) -> Parsed:
    """One file's post (None when it failed) and the problems met in it."""
    problems: list[Problem] = []
    try:
        return Parsed(parse_post(path, data, site, problems.append), tuple(problems))
    except PostError as error:
        return Parsed(None, (error.problem, *problems))


def collect(results: Iterable[Parsed]) -> Loaded:
    """The posts of many files, newest first, each slug kept once, and all problems."""
    posts: list[Post] = []
    problems: list[Problem] = []
    for result in results:
        if result.post is not None:
            posts.append(result.post)
        problems.extend(result.problems)
    kept: dict[str, Post] = {}
    for post in sorted(posts, key=lambda p: p.source):
        if post.slug in kept:
            message = f"slug {post.slug!r} is already used by {kept[post.slug].source}"
            problems.append(Problem(post.source, None, message))
        else:
            kept[post.slug] = post
    problems.sort(key=lambda p: (p.path, p.line or 0))
    return Loaded(tuple(newest_first(kept.values())), tuple(problems))


def parse_post(
    path: str,
    data: bytes,
    site: Site,
    warn: Callable[[Problem], None] = lambda problem: None,
) -> Post:
    """One post from the bytes of its file; raises ``PostError`` naming path and line."""
    text = _decode(path, data)
    fields, body_line, body = _split(path, text)
    for key, item in fields.items():
        if key not in KNOWN_KEYS:
            hint = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            also = f"; did you mean {hint[0]!r}?" if hint else ""
            warn(
                Problem(
                    path, item.line, f"unknown front-matter key {key!r} ignored{also}", "warning"
                )
            )

    def need(key: str) -> _Field:
        if key not in fields or fields[key].value in (None, "", []):
            raise PostError(path, 1, f"{key}: required, and missing")
        return fields[key]

    title_field = need("title")
    title = plain_text(_text(path, "title", title_field))
    if not title:
        raise PostError(path, title_field.line, "title: empty once markup is removed")
    when = _datetime(path, "date", need("date"), site, warn)
    categories = _categories(path, need("categories"))
    slug_field = fields.get("slug")
    slug = slugify(_text(path, "slug", slug_field) if slug_field else title)
    if not slug:
        line = slug_field.line if slug_field else title_field.line
        raise PostError(path, line, "slug: no letters or digits to make a slug from")
    updated = _optional(fields, "updated", lambda f: _datetime(path, "updated", f, site, warn))
    if updated is not None and updated < when:
        warn(Problem(path, fields["updated"].line, "updated: earlier than date", "warning"))
    summary_field = fields.get("summary")
    summary = plain_text(_text(path, "summary", summary_field)) if summary_field else None
    if not body.strip():
        warn(Problem(path, body_line, "the post has no text", "warning"))
    url = site.absolute(permalink_path(site, slug, when))
    image = _optional(fields, "image", lambda f: _image(path, f, url, warn))
    image_type, image_length = _enclosure(path, fields, image, warn)
    return Post(
        source=path,
        title=title,
        slug=slug,
        date=when,
        categories=categories,
        body=body,
        url=url,
        fingerprint=file_fingerprint(data),
        summary_given=summary,
        author=_optional(fields, "author", lambda f: plain_text(_text(path, "author", f)))
        or site.author,
        updated=updated,
        image=image,
        image_type=image_type,
        image_length=image_length,
        caption=_optional(fields, "caption", lambda f: plain_text(_text(path, "caption", f))),
        credit=_optional(fields, "credit", lambda f: plain_text(_text(path, "credit", f))),
        image_alt=_optional(fields, "image_alt", lambda f: plain_text(_text(path, "image_alt", f))),
        comments=_optional(fields, "comments", lambda f: _count(path, "comments", f)) or 0,
        draft=bool(_optional(fields, "draft", lambda f: _flag(path, "draft", f))),
        guid=_optional(fields, "guid", lambda f: _text(path, "guid", f).strip()),
        tags=_optional(fields, "tags", lambda f: _names(path, "tags", f)) or (),
    )


# What a URL may hold as it is; anything else (a quote, a space, a letter beyond ASCII) is
# percent-encoded, so that no feed or page gets a character its format refuses in a URI.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~-._"


def _image(path: str, item: _Field, base: str, warn: Callable[[Problem], None]) -> str | None:
    """``image:`` as an absolute http(s) URL (a relative one is read against the post's
    own URL, as a browser would); any other scheme (``javascript:``, ``data:``, …) is
    left out with a warning, and the post still publishes."""
    raw = _text(path, "image", item).strip()
    url = urljoin(base, raw)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        message = f"image: {raw!r} is not an http(s) URL or a path on the site; left out"
        warn(Problem(path, item.line, message, "warning"))
        return None
    return quote(url, safe=_URL_SAFE)


_MEDIA_TYPE = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]*\Z")


def _enclosure(
    path: str, fields: dict[str, _Field], image: str | None, warn: Callable[[Problem], None]
) -> tuple[str | None, int]:
    """``image_type:`` (else the type the image URL's ending names) and ``image_length:``
    (bytes): with both, the feeds carry the picture as an enclosure too."""
    given = _optional(fields, "image_type", lambda f: _media_type(path, f))
    length = _optional(fields, "image_length", lambda f: _count(path, "image_length", f)) or 0
    if image is None:
        for key in ("image_type", "image_length"):
            if key in fields:
                warn(Problem(path, fields[key].line, f"{key}: no image to describe", "warning"))
        return None, 0
    media_type = given or _known_types().guess_type(urlsplit(image).path)[0]
    if length and not media_type:
        message = "image_length: the image's type is not known from its URL; set image_type"
        warn(Problem(path, fields["image_length"].line, message, "warning"))
    return media_type, length


@functools.cache
def _known_types() -> mimetypes.MimeTypes:
    """Python's own table of types by file ending, not the machine's (which differ)."""
    types = mimetypes.MimeTypes()
    types.add_type("image/webp", ".webp")  # not in every Python's table
    return types


def _media_type(path: str, item: _Field) -> str:
    value = _text(path, "image_type", item).strip().lower()
    if not _MEDIA_TYPE.match(value):
        message = f"image_type: {value!r} is not a media type like image/jpeg"
        raise PostError(path, item.line, message)
    return value


def _decode(path: str, data: bytes) -> str:
    if not data.strip():
        raise PostError(path, None, "the file is empty")
    # Control characters are never meant in a post, and YAML and XML both refuse them.
    # Most posts are ASCII: dropping them from the bytes is several times faster.
    if data.isascii():
        text = data.translate(None, ASCII_CONTROLS).decode("ascii")
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PostError(
            path, line, f"not UTF-8: byte 0x{data[error.start]:02x}; save the file as UTF-8"
        ) from None
    return strip_controls(text.replace("\r\n", "\n").replace("\r", "\n"))


def _split(path: str, text: str) -> tuple[dict[str, _Field], int, str]:
    """The front matter's fields, the line the body starts on, and the body."""
    front, body_line, body = _sections(path, text)
    return _parse_yaml(path, front), body_line, body


def _sections(path: str, text: str) -> tuple[str, int, str]:
    """The front matter's text, the line the body starts on, and the body."""
    lines = text.split("\n")
    if lines[0].rstrip() != FENCE:
        raise PostError(path, 1, "no front matter: a post starts with a '---' line")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() in (FENCE, "...")), 0)
    if not end:
        raise PostError(path, 1, "the front matter has no closing '---' line")
    return "\n".join(lines[1:end]), end + 2, "\n".join(lines[end + 1 :]).strip("\n") + "\n"


def file_fingerprint(data: bytes) -> str:
    """A post's ``fingerprint``: a hash of its file's bytes."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def post_body(path: str, data: bytes) -> str:
    """The Markdown body of a post's file, as ``parse_post`` reads it (no front matter
    parsed): for reading a body back when the post was kept without it."""
    return _sections(path, _decode(path, data))[2]


def _parse_yaml(path: str, front: str) -> dict[str, _Field]:
    loader = _Loader(front)
    try:
        node = loader.get_single_node()
        if node is None:
            raise PostError(path, 1, "the front matter is empty")
        if not isinstance(node, yaml.MappingNode):
            raise PostError(path, 2, "the front matter must be 'key: value' lines")
        fields: dict[str, _Field] = {}
        for key_node, value_node in node.value:
            plain = key_node.tag == STR_TAG  # as good as constructed, and much quicker
            key = key_node.value if plain else str(loader.construct_object(key_node, deep=True))
            line = key_node.start_mark.line + 2
            if key in fields:
                raise PostError(path, line, f"{key}: given twice")
            try:
                value = _value(loader, key, value_node)
            except ValueError as error:  # "2022-13-45" looks like a date to YAML
                raise PostError(path, line, f"{key}: not a date: {error}") from None
            fields[key] = _Field(value_node, value, line)
        return fields
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 2 if mark else None
        reason = error.problem or error.context or "not valid YAML"
        raise PostError(path, line, f"front matter is not valid YAML: {reason}") from None
    except yaml.YAMLError as error:
        raise PostError(path, None, f"front matter is not valid YAML: {error}") from None
    finally:
        loader.dispose()


def _value(loader: Any, key: str, node: yaml.Node) -> Any:
    """A field's value: built by YAML for typed fields; text stays the scalar as written
    (read by ``_text``), which spares building values nobody reads."""
    if key in TYPED_KEYS and node.tag == TIMESTAMP_TAG:  # as YAML reads it, ten times quicker
        try:
            return datetime.fromisoformat(node.value)
        except ValueError:  # forms only YAML knows ("2022-9-6"); or no date at all
            pass
    if key in TYPED_KEYS or node.tag not in PLAIN_TAGS:  # an unknown tag fails here
        return loader.construct_object(node, deep=True)
    if isinstance(node, yaml.ScalarNode):
        return None if node.tag == NULL_TAG else node.value
    return node.value  # the nodes of a list or mapping: empty when the list is


def _optional(fields: dict[str, _Field], key: str, read: Callable[[_Field], T]) -> T | None:
    item = fields.get(key)
    if item is None or item.value is None or item.value == "":
        return None
    return read(item)


def _text(path: str, key: str, item: _Field) -> str:
    # The scalar as written, so "title: No" or "slug: 1.10" keep their spelling.
    if not isinstance(item.node, yaml.ScalarNode):
        raise PostError(path, item.line, f"{key}: expected text, got a list or mapping")
    return strip_controls(str(item.node.value))


def _names(path: str, key: str, item: _Field) -> tuple[str, ...]:
    nodes = item.node.value if isinstance(item.node, yaml.SequenceNode) else [item.node]
    names: list[str] = []
    for node in nodes:
        if not isinstance(node, yaml.ScalarNode):
            raise PostError(path, item.line, f"{key}: each entry must be a name")
        name = plain_text(str(node.value))
        if not name:
            raise PostError(path, node.start_mark.line + 2, f"{key}: an entry is empty")
        if name not in names:
            names.append(name)
    return tuple(names)


def _categories(path: str, item: _Field) -> tuple[Category, ...]:
    categories = []
    for name in _names(path, "categories", item):
        category = _category(name)
        if category is None:
            raise PostError(path, item.line, f"categories: {name!r} has no letters or digits")
        categories.append(category)
    return tuple(categories)


@functools.lru_cache(maxsize=4096)
def _category(name: str) -> Category | None:
    """One category per name (a site has few, and ten thousand posts name them)."""
    slug = slugify(name)
    return Category(name, slug) if slug else None


def _datetime(
    path: str,
    key: str,
    item: _Field,
    site: Site,
    warn: Callable[[Problem], None] = lambda problem: None,
) -> datetime:
    value = item.value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise PostError(
                path,
                item.line,
                f"{key}: not a date: {value!r} (use ISO 8601, like 2022-09-16T09:00:00+01:00)",
            ) from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if not isinstance(value, datetime):
        raise PostError(path, item.line, f"{key}: not a date: {value!r}")
    if value.tzinfo is None:
        value = _local(path, key, item, value, site, warn)
    offset = value.utcoffset()
    if offset is not None and offset.seconds % 60:
        # Feeds write offsets in whole minutes (RFC 3339, RFC 822): keep the instant.
        warn(
            Problem(
                path,
                item.line,
                f"{key}: {value.isoformat()} has an offset of seconds (a local mean time); "
                "written in UTC",
                "warning",
            )
        )
        value = value.astimezone(UTC)
    return value


def _local(
    path: str,
    key: str,
    item: _Field,
    naive: datetime,
    site: Site,
    warn: Callable[[Problem], None],
) -> datetime:
    """A time without a zone, read in the site's zone; a time the clocks skipped (spring
    forward) or went through twice (autumn) is read one way, and the warning says which."""
    zone = site.timezone
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:  # the wall clock never showed this time
        shown = first.astimezone(UTC).astimezone(zone)
        message = (
            f"{key}: {naive.isoformat()} does not exist in {zone.key} (the clocks went "
            f"forward); read as {first.isoformat()}, which is {shown:%H:%M %Z}"
        )
    else:
        message = (
            f"{key}: {naive.isoformat()} happens twice in {zone.key} (the clocks went back); "
            f"read as the first, {first.isoformat()}; give an offset to choose"
        )
    warn(Problem(path, item.line, message, "warning"))
    return first


def _count(path: str, key: str, item: _Field) -> int:
    if isinstance(item.value, bool) or not isinstance(item.value, int) or item.value < 0:
        raise PostError(path, item.line, f"{key}: expected a whole number, got {item.value!r}")
    return item.value


def _flag(path: str, key: str, item: _Field) -> bool:
    if not isinstance(item.value, bool):
        raise PostError(path, item.line, f"{key}: expected true or false, got {item.value!r}")
    return item.value
