"""A publish with nothing changed returns at once; anything that matters brings a full one."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from press.config import load_config
from press.publish import publish

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def again(project: Path, now: datetime = NOW, force: bool = False) -> bool:
    return publish(load_config(project / "press.toml"), now, force=force).fast


def test_nothing_changed_is_fast(project: Path) -> None:
    first = publish(load_config(project / "press.toml"), NOW)
    assert not first.fast
    second = publish(load_config(project / "press.toml"), NOW)
    assert second.fast and second.files == first.files and second.published == 10
    assert not again(project, force=True)


def test_an_edited_post_is_published(project: Path) -> None:
    again(project)
    post = next((project / "posts").glob("2022-09-16-*.md"))
    post.write_text(post.read_text().replace("Samarkand.", "Samarkand!", 1))
    assert not again(project)
    assert again(project)


def test_a_touched_template_or_setting_is_published(project: Path) -> None:
    again(project)
    template = project / "templates" / "post.html.j2"
    os.utime(template, ns=(1, template.stat().st_mtime_ns + 10**9))
    assert not again(project)
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("items = 50", "items = 40"))
    assert not again(project)


def test_a_post_coming_due_within_the_week(project: Path) -> None:
    (project / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2026-01-01T12:00:00Z\ncategories: [China-Russia]\n---\nx\n"
    )
    assert not again(project, datetime(2026, 1, 1, 9, tzinfo=UTC))
    assert again(project, datetime(2026, 1, 1, 11, tzinfo=UTC))  # still not due
    assert not again(project, datetime(2026, 1, 1, 12, 1, tzinfo=UTC))  # due: published
    atom = (project / "public" / "feeds" / "all.atom.xml").read_text()
    assert "<title>Later</title>" in atom


def test_a_new_week_rebuilds_the_digest_archive(project: Path) -> None:
    again(project, datetime(2026, 1, 1, tzinfo=UTC))
    assert not again(project, datetime(2026, 1, 8, tzinfo=UTC))


def test_a_missing_or_edited_output_is_restored(project: Path) -> None:
    again(project)
    feed = project / "public" / "feeds" / "all.atom.xml"
    original = feed.read_bytes()
    feed.unlink()
    assert not again(project)
    assert feed.read_bytes() == original
    feed.write_bytes(b"broken")
    assert not again(project)
    assert feed.read_bytes() == original
