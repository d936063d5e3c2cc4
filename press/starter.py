"""``press new site`` and ``press new post``: a blog of one's own, and a post in it.

Both write only new files: when any file they would write is there already, they write
nothing and say which.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from feeds.text import slugify, yaml_text
from press.config import BUNDLED_TEMPLATES, Config, ConfigError, validate

GITIGNORE = """\
# What press makes and keeps: the published site, the database and outbox, previews.
/public/
/var/
/out/
"""


# The option of ``press new site`` that gives each setting.
OPTIONS = {
    "site.title": "--title",
    "site.url": "--url",
    "site.author": "--author",
    "site.description": "--description",
    "site.language": "--language",
    "site.timezone": "--timezone",
    "newsletter.category": "--category",
}


class Exists(Exception):
    """Files that ``press new`` would write are there already."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__(f"not overwriting {paths[0]}")
        self.paths = paths

    def shown(self, show: Callable[[Path], str]) -> str:
        names = [show(path) for path in self.paths]
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        return "not overwriting what is there: " + ", ".join(names[:5]) + more


@dataclass(frozen=True)
class NewSite:
    """The answers ``press new site`` asks for (the settings press.toml requires, and the
    few a reader sees first)."""

    title: str
    url: str
    author: str
    description: str = ""
    language: str = "en"
    timezone: str = "UTC"
    category: str = "Notes"  # the example post's, and the newsletter's


def site_toml(site: NewSite) -> str:
    """A press.toml for the new site; every other setting keeps its default (README,
    "Configuration")."""

    q = yaml_text  # a JSON string is a TOML basic string, as it is a YAML one

    return f"""\
# press settings. Every key is documented in the README ("Configuration"); the ones
# left out keep their defaults. Secrets (the SMTP password, the key that signs links)
# come from the environment, never from this file.

[site]
title = {q(site.title)}
url = {q(site.url)}
author = {q(site.author)}
description = {q(site.description)}
language = {q(site.language)}
timezone = {q(site.timezone)}

[newsletter]
# The weekly digest gathers this category's posts.
category = {q(site.category)}
# sender = "{site.title} <newsletter@example.com>"
# address = "The postal address the law asks for in every email's footer"

[smtp]
# url = "smtp://user@mail.example.com:587"   # unset: emails go to var/outbox/
"""


def post_text(title: str, date: datetime, categories: list[str], body: str, draft: bool) -> str:
    """A post file: front matter as the post format has it (README, "Writing a post")."""
    front = [
        f"title: {yaml_text(title)}",
        f"date: {date.isoformat()}",
        "categories: [" + ", ".join(yaml_text(c) for c in categories) + "]",
    ]
    if draft:
        front.append("draft: true")
    return "---\n" + "\n".join(front) + "\n---\n" + body


def post_name(title: str, date: datetime, slug: str = "") -> str:
    """``2026-12-02-the-title.md``, as the bundled posts are named."""
    made = slugify(slug or title)
    if not made:
        raise ValueError(f"no slug can be made from {slug or title!r}: give one with --slug")
    return f"{date:%Y-%m-%d}-{made}.md"


def _local(now: datetime, zone: ZoneInfo) -> datetime:
    return now.astimezone(zone).replace(second=0, microsecond=0)


def example_post(site: NewSite, now: datetime) -> tuple[str, str]:
    """The new site's first post: what to do next, in the post format."""
    date = _local(now, ZoneInfo(site.timezone))
    body = f"""\
This is the first post of {site.title}. It is a Markdown file in `posts/`: open it,
change it, and publish again.

To write another post:

    press new post "The title of the post"

To look at the site while you write, run `press serve --watch` and open
<http://localhost:8000/>. Posts filed under {site.category} go out in the weekly
digest once readers subscribe.
"""
    title = f"Welcome to {site.title}"
    return post_name(title, date), post_text(title, date, [site.category], body, False)


def _write_new(files: dict[Path, bytes]) -> list[Path]:
    """Write each file, making folders; refuses, writing nothing, when one exists."""
    there = sorted(path for path in files if path.exists())
    if there:
        raise Exists(there)
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("xb") as handle:  # "x": never over a file made meanwhile
            handle.write(data)
    return list(files)


def new_site(folder: Path, site: NewSite, now: datetime) -> list[Path]:
    """press.toml, posts/ with one example post, the templates and a .gitignore in
    ``folder`` (made if need be). Raises ``ConfigError`` for a wrong answer (naming the
    setting), ``Exists`` when any of these files is there already."""
    toml = site_toml(site)
    import tomllib

    try:  # a wrong URL or zone is said now, by the option that gave it
        validate(tomllib.loads(toml), "")
    except ConfigError as error:
        lines = [line.removeprefix(": ").split(": ", 1) for line in str(error).splitlines()]
        raise ConfigError("\n".join(f"{OPTIONS.get(k, k)}: {why}" for k, why in lines)) from None
    if not BUNDLED_TEMPLATES.is_dir():
        raise ConfigError(f"the bundled templates are not at {BUNDLED_TEMPLATES}")
    name, post = example_post(site, now)
    files = {
        folder / "press.toml": toml.encode("utf-8"),
        folder / ".gitignore": GITIGNORE.encode("utf-8"),
        folder / "posts" / name: post.encode("utf-8"),
    }
    for template in sorted(BUNDLED_TEMPLATES.iterdir()):
        if template.is_file():
            files[folder / "templates" / template.name] = template.read_bytes()
    return _write_new(files)


def new_post(
    config: Config,
    title: str,
    categories: list[str],
    now: datetime,
    slug: str = "",
    draft: bool = False,
) -> Path:
    """A new post in the posts folder, dated now in the site's zone, filed under
    ``categories`` (default: the newsletter's). Raises ``ValueError`` for a title that
    cannot be one, ``Exists`` when the file is there."""
    if not title.strip() or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in title):
        raise ValueError("a title is one line of text")
    date = _local(now, config.site.timezone)
    path = config.folder("posts") / post_name(title.strip(), date, slug)
    text = post_text(title.strip(), date, categories or [config.newsletter.category], "", draft)
    _write_new({path: text.encode("utf-8")})
    return path
