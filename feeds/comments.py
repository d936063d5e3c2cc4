"""Readers' comments on a post, from the file beside it: ``<post>.comments.yaml``.

The WordPress importer writes one for each post with approved comments (display names,
dates and text: never an email or IP address); a person may edit or delete entries by
hand. A list of entries, oldest first::

    - id: "12"
      author: Jane Doe
      url: https://jane.example/        # optional: the commenter's site
      date: 2022-09-16T10:00:00+01:00
      parent: ""                        # optional: the id of the comment it answers
      text: |
        The comment, in Markdown.

A bad entry is left out with a problem naming the file and its line; the others stay.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from feeds.errors import Problem
from feeds.model import Comment, Site
from feeds.text import plain_text

if TYPE_CHECKING:
    import yaml

SUFFIX = ".comments.yaml"


def comments_path(post_path: str) -> str:
    """The comments file of the post file ``post_path`` (``a.md``: ``a.comments.yaml``)."""
    return post_path.removesuffix(".md") + SUFFIX


def parse_comments(path: str, data: bytes, site: Site) -> tuple[tuple[Comment, ...], list[Problem]]:
    """The comments in ``data`` (the file ``path``), oldest first, and what was wrong."""
    import yaml  # here: press.files names comments files without loading YAML

    problems: list[Problem] = []
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        message = f"not valid YAML: {_reason(error)}; no comments shown"
        problems.append(Problem(path, line, message, "warning"))
        return (), problems
    if root is None:
        return (), problems
    if not isinstance(root, yaml.SequenceNode):
        message = "expected a list of comments ('- author: …' entries); no comments shown"
        problems.append(Problem(path, 1, message, "warning"))
        return (), problems
    comments: list[Comment] = []
    for number, node in enumerate(root.value, start=1):
        line = node.start_mark.line + 1
        try:
            comments.append(_comment(node, number, line, site))
        except ValueError as error:
            problems.append(Problem(path, line, f"comment {number}: {error}; left out", "warning"))
    return tuple(sorted(comments, key=lambda c: c.date)), problems


def _reason(error: Exception) -> str:
    return str(getattr(error, "problem", None) or error)


def _comment(node: yaml.Node, number: int, line: int, site: Site) -> Comment:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        raise ValueError("expected 'key: value' lines")
    loader = yaml.SafeLoader("")
    fields = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    unknown = sorted(set(fields) - {"id", "author", "url", "date", "parent", "text"})
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r}")
    author = plain_text(str(fields.get("author") or ""))
    text = str(fields.get("text") or "").strip()
    if not text:
        raise ValueError("text: empty")
    url = str(fields.get("url") or "").strip()
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname):
        url = ""  # a javascript: or mailto: link as the author's site is no link
    return Comment(
        id=str(fields.get("id") if fields.get("id") is not None else number),
        author=author or "Anonymous",
        date=_when(fields.get("date"), site),
        text=text,
        parent=str(fields.get("parent") or ""),
        url=url,
    )


def _when(value: Any, site: Site) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"date: not a date: {value!r}") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if not isinstance(value, datetime):
        raise ValueError("date: missing (ISO 8601, like 2022-09-16T10:00:00+01:00)")
    when: datetime = value if value.tzinfo else value.replace(tzinfo=site.timezone)
    return when
