"""The newsletters a site offers, from press.toml: ``[newsletters.<id>]`` tables (or a
``[[newsletters]]`` list, each with an ``id``); without either, the one weekly digest of
``[newsletter]`` and ``schedule.digest``, as before there were several.

Each setting has its default and check in ``KEYS``; the README's table of them is checked
against it by a test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from feeds.text import slugify
from newsletter.model import CADENCES, NewsletterSpec
from press.settings import Invalid, choice, flag, message_template, nonempty, number, weekly

ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
LEGACY_KEYS = ("category", "subject", "preheader")  # of [newsletter], before [newsletters]


def _categories(value: Any) -> tuple[str, ...]:
    if value == "all":
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise Invalid(f'expected a list of category names, or "all", got {value!r}')
    names = [nonempty(v).strip() for v in value]
    slugs = [slugify(n) for n in names]
    if len(set(slugs)) != len(slugs):
        raise Invalid(f"a category is named twice: {value!r}")
    return tuple(names)


def _daily(value: Any) -> str:
    """``07:00`` (seconds allowed)."""
    return weekly(f"mon {value}" if isinstance(value, str) else value).split()[1]


# key: (default, check, help). None as a default: depends on the cadence.
KEYS: dict[str, tuple[Any, Callable[[Any], Any], str]] = {
    "title": (
        None, nonempty, "Its name on the subscribe page and in the email; default from the id."
    ),
    "categories": (None, _categories, 'The categories it draws from: a list, or "all".'),
    "cadence": (
        "weekly", choice(*CADENCES), "post (each new post its own email), daily or weekly."
    ),
    "at": (
        None, str, 'When it goes out, local time: weekly "mon 07:00", daily "07:00"; post: none.'
    ),
    "subject": (None, message_template, "The subject line; fields as for newsletter.subject."),
    "preheader": (None, message_template, "The preview line after the subject; same fields."),
    "template": (
        "digest", nonempty, "The templates' stem: digest is digest.mjml.j2 and digest.txt.j2."
    ),
    "choose_categories": (False, flag, "Readers may narrow it to some of its categories."),
    "max_age_days": (
        2, number, "post: a post first seen older than this is not emailed (imports, restores)."
    ),
}  # fmt: skip

SUBJECTS = {
    "post": ("{title}", "{category} · {site}, {week_dates}"),
    "daily": ("{newsletter}: {first_title}{and_more}", "{posts} from {site}, {week_dates}"),
}


def read_newsletters(raw: dict[str, Any], values: dict[str, Any], zone: ZoneInfo) -> tuple[
    tuple[NewsletterSpec, ...], list[str]
]:  # fmt: skip
    """The newsletters, and the problems found (each naming its key)."""
    given = raw.get("newsletters")
    if given is None:
        return (legacy(values),), []
    problems: list[str] = []
    section = raw.get("newsletter")
    old: dict[str, Any] = section if isinstance(section, dict) else {}
    for key in LEGACY_KEYS:
        if key in old:
            new = "categories" if key == "category" else key
            problems.append(
                f"newsletter.{key}: with [newsletters], each newsletter has its own {new}: "
                f"[newsletters.{slugify(values['newsletter.category'])}] {new} = "
                f"{_spelling(key, old[key])} (newsletter.{key} is for a site of one digest)"
            )
    if isinstance(raw.get("schedule"), dict) and "digest" in raw["schedule"]:
        problems.append(
            "schedule.digest: with [newsletters], each newsletter has its own time: "
            f'at = "{raw["schedule"]["digest"]}"'
        )
    if isinstance(given, dict):
        tables = [(key, table) for key, table in given.items()]
    elif isinstance(given, list):
        tables = []
        for n, table in enumerate(given, 1):
            if not isinstance(table, dict) or not isinstance(table.get("id"), str):
                problems.append(f'newsletters: the {_nth(n)} [[newsletters]] has no id = "…"')
                continue
            tables.append((table["id"], {k: v for k, v in table.items() if k != "id"}))
    else:
        return (), [*problems, "newsletters: expected [newsletters.<id>] tables"]
    found: list[NewsletterSpec] = []
    for key, table in tables:
        spec = _one(key, table, zone, problems)
        if spec is not None:
            found.append(spec)
    if not tables:
        problems.append("newsletters: no newsletter is defined; add [newsletters.<id>]")
    seen: set[str] = set()
    for spec in found:
        if spec.id in seen:
            problems.append(f"newsletters.{spec.id}: defined twice")
        seen.add(spec.id)
    return tuple(found), problems


def _one(key: str, table: Any, zone: ZoneInfo, problems: list[str]) -> NewsletterSpec | None:
    where = f"newsletters.{key}"
    if not ID.match(key):
        problems.append(
            f"{where}: an id is lower-case letters, digits and hyphens (like china-russia)"
        )
        return None
    if not isinstance(table, dict):
        problems.append(f"{where}: expected a [{where}] table")
        return None
    before = len(problems)
    for name in table:
        if name not in KEYS:
            problems.append(f"unknown setting {where}.{name}; known: {', '.join(KEYS)}")
    values: dict[str, Any] = {}
    for name, (default, check, _) in KEYS.items():
        if name not in table:
            values[name] = default
            continue
        try:
            values[name] = check(table[name])
        except Invalid as error:
            problems.append(f"{where}.{name}: {error}")
    if len(problems) > before:
        return None
    cadence = values["cadence"]
    if values["categories"] is None:
        problems.append(f'{where}.categories: required (a list of category names, or "all")')
        return None
    at = values["at"]
    try:
        if cadence == "weekly":
            at = weekly(at if at is not None else "mon 07:00")
        elif cadence == "daily":
            at = _daily(at if at is not None else "07:00")
        elif at is not None:
            raise Invalid("a post newsletter goes out as each post is published; leave at out")
        else:
            at = ""
    except Invalid as error:
        problems.append(f"{where}.at: {error}")
        return None
    if at and not _steady(at.split()[-1], zone):
        problems.append(
            f"{where}.at: {at} falls in 01:00–03:00, which {zone.key} skips or repeats "
            "when the clocks change; choose another time"
        )
        return None
    names = values["categories"]
    if values["choose_categories"] and len(names) < 2:
        problems.append(
            f"{where}.choose_categories: readers choose among its categories, so it needs a "
            'list of two or more (not "all": those change with the posts)'
        )
        return None
    subject, preheader = SUBJECTS.get(cadence, (None, None))
    return NewsletterSpec(
        id=key,
        title=values["title"] or _title(key, names, cadence),
        categories=names,
        cadence=cadence,
        at=at,
        subject=values["subject"] or subject or "{category} this week: {first_title}{and_more}",
        preheader=values["preheader"] or preheader or "{posts} from {site}, {week_dates}",
        template=values["template"],
        choose_categories=values["choose_categories"],
        max_age_days=float(values["max_age_days"]),
    )


def legacy(values: dict[str, Any]) -> NewsletterSpec:
    """The one weekly digest a press.toml without [newsletters] describes."""
    category = values["newsletter.category"]
    return NewsletterSpec(
        id=slugify(category),
        title=f"The weekly {category} digest",
        categories=(category,),
        cadence="weekly",
        at=values["schedule.digest"],
        subject=values["newsletter.subject"],
        preheader=values["newsletter.preheader"],
        template="digest",
        choose_categories=False,
        max_age_days=2.0,
    )


def _title(key: str, names: tuple[str, ...], cadence: str) -> str:
    what = " and ".join(names) if 0 < len(names) <= 2 else key.replace("-", " ").title()
    return {"post": f"{what} posts by email", "daily": f"{what} daily"}.get(
        cadence, f"The weekly {what} digest"
    )


def _steady(clock: str, zone: ZoneInfo) -> bool:
    """Whether this local time exists once on every day (not 01:00–03:00 where clocks
    change)."""
    january = datetime(2025, 1, 15, tzinfo=zone).utcoffset()
    july = datetime(2025, 7, 15, tzinfo=zone).utcoffset()
    return january == july or int(clock[:2]) not in (1, 2)


def _spelling(key: str, value: Any) -> str:
    return f'["{value}"]' if key == "category" else f'"{value}"'


def _nth(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")
