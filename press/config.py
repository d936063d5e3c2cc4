"""Reading ``press.toml`` into plain, validated values."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from feeds.model import Site
from newsletter.model import NewsletterSpec
from newsletter.verp import default_pattern
from press.newsletters import read_newsletters
from press.settings import (
    REQUIRED,
    SECTIONS,
    SETTINGS,
    Delivery,
    Dkim,
    Feeds,
    Invalid,
    Newsletter,
    Pages,
    Paths,
    Posts,
    Schedule,
    Smtp,
    Storage,
    Subscribers,
)

DEFAULT_PATH = "press.toml"


class ConfigError(Exception):
    """``press.toml`` is missing or wrong; the message names the file and the key."""


SECRETS = {
    "secret_key": "PRESS_SECRET_KEY",
    "smtp_password": "PRESS_SMTP_PASSWORD",
    "database_url": "PRESS_DATABASE_URL",
}


BUNDLED_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"  # press's own


@dataclass(frozen=True)
class Config:
    """Everything ``press`` needs from the file and the environment, paths made absolute:
    one typed, frozen section a ``[table]`` of press.toml (``config.feeds.formats``)."""

    path: Path
    site: Site
    paths: Paths
    posts: Posts
    feeds: Feeds
    pages: Pages
    newsletter: Newsletter
    storage: Storage
    smtp: Smtp
    delivery: Delivery
    subscribers: Subscribers
    dkim: Dkim
    schedule: Schedule
    newsletters: tuple[NewsletterSpec, ...] = ()
    newsletters_given: bool = False  # [newsletters] in the file (else [newsletter]'s one)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def database_url(self) -> str:
        """``PRESS_DATABASE_URL``, else ``storage.url``, else SQLite in ``var/``."""
        return (
            self.secrets.get("database_url")
            or self.storage.url
            or f"sqlite:///{self.folder('var') / 'press.db'}"
        )

    def newsletter_spec(self, newsletter_id: str | None = None) -> NewsletterSpec:
        """The newsletter ``newsletter_id``, or the first one; KeyError names the known."""
        if newsletter_id is None:
            return self.newsletters[0]
        for spec in self.newsletters:
            if spec.id == newsletter_id:
                return spec
        known = ", ".join(spec.id for spec in self.newsletters)
        raise KeyError(f"no newsletter {newsletter_id!r} in {self.path.name} (known: {known})")

    @property
    def root(self) -> Path:
        return self.path.parent

    def folder(self, name: str) -> Path:
        """One of the ``[paths]`` folders (posts, public, templates, var), relative to
        ``press.toml``."""
        return self.root / str(getattr(self.paths, name))

    def template_folders(self) -> list[Path]:
        """Where templates are looked for, in order: the project's, then press's own (a
        site overrides only the ones it changes; one with no templates folder publishes)."""
        own = self.folder("templates")
        return [own] if own.resolve() == BUNDLED_TEMPLATES else [own, BUNDLED_TEMPLATES]


def load_config(
    path: Path | str = DEFAULT_PATH, environ: Mapping[str, str] | None = None
) -> Config:
    """Read and validate ``press.toml``; every error names the file and the key.

    Secrets come from ``environ`` (the process environment by default), never the file.
    """
    environ = os.environ if environ is None else environ
    path = Path(path).absolute()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{path.name}: not found in {path.parent} (pass --config or set PRESS_CONFIG)"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    values = validate(raw, str(path))
    zone = ZoneInfo(values["site.timezone"])
    newsletters, problems = read_newsletters(raw, values, zone)
    if problems:
        raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))
    if "newsletters" not in raw:
        _check_schedule(values, str(path))
    site = Site(
        title=values["site.title"],
        url=values["site.url"],
        author=values["site.author"],
        language=values["site.language"],
        timezone=zone,
        description=values["site.description"],
        permalink=values["feeds.permalink"],
        icon=values["site.icon"],
        logo=values["site.logo"],
    )
    secrets = {
        name: environ[variable] for name, variable in SECRETS.items() if environ.get(variable)
    }
    sections = {
        section: kind(
            **{n.split(".", 1)[1]: v for n, v in values.items() if n.startswith(f"{section}.")}
        )
        for section, kind in SECTIONS.items()
    }
    newsletter = sections["newsletter"]
    if not newsletter.sender:  # the site's name at newsletter@ its domain
        newsletter = newsletter._replace(sender=f"{site.title} <newsletter@{site.domain}>")
        sections["newsletter"] = newsletter
    delivery = sections["delivery"]
    mailbox = parseaddr(newsletter.sender)[1]
    sections["delivery"] = delivery._replace(  # bounces+{token}@, unsubscribe+{token}@
        return_path=delivery.return_path or default_pattern(mailbox),
        unsubscribe_address=delivery.unsubscribe_address or default_pattern(mailbox, "unsubscribe"),
    )
    # Comment links point at the post pages: without pages, there are none.
    comments = values["pages.comments"] if values["pages.enabled"] else "off"
    to = values["pages.comments_to"] or newsletter.reply_to or newsletter.sender
    site = replace(site, comments=comments, comments_to=parseaddr(to)[1])
    return Config(
        path, site, newsletters=newsletters, newsletters_given="newsletters" in raw,
        secrets=secrets, **sections,
    )  # fmt: skip


def validate(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """Each setting's checked value by ``section.key``; unknown keys are errors."""
    known = {s.name: s for s in SETTINGS}
    sections = {s.section for s in SETTINGS}
    problems: list[str] = []
    for section, table in raw.items():
        if section == "newsletters":
            continue  # a table of tables: press.newsletters reads it
        if section not in sections:
            problems.append(f"unknown section [{section}]{_hint(section, sections)}")
        elif not isinstance(table, dict):
            problems.append(f"{section}: expected a [{section}] table")
        else:
            for key in table:
                name = f"{section}.{key}"
                if name not in known:
                    problems.append(f"unknown setting {name}{_hint(name, known)}")
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        table = raw.get(setting.section)
        value = (
            table.get(setting.key, setting.default) if isinstance(table, dict) else setting.default
        )
        if value is REQUIRED:
            problems.append(f"{setting.name}: required ({setting.help})")
            continue
        try:
            values[setting.name] = setting.check(value)
        except Invalid as error:
            problems.append(f"{setting.name}: {error}")
    if problems:
        raise ConfigError("\n".join(f"{where}: {problem}" for problem in problems))
    return values


def _hint(name: str, options: Any) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f"; did you mean {close[0]}?" if close else ""


def _check_schedule(values: dict[str, Any], where: str) -> None:
    """The weekly run avoids 01:00–03:00 where clocks change: that hour is skipped or doubled."""
    zone = ZoneInfo(values["site.timezone"])
    hour = int(values["schedule.digest"].split()[1][:2])
    january = datetime(2025, 1, 15, tzinfo=zone).utcoffset()
    july = datetime(2025, 7, 15, tzinfo=zone).utcoffset()
    if hour in (1, 2) and january != july:
        raise ConfigError(
            f"{where}: schedule.digest: {values['schedule.digest']} falls in 01:00–03:00, "
            f"which {values['site.timezone']} skips or repeats when the clocks change; "
            "choose another time"
        )
