"""press.toml: every key validated, errors naming the key, the file chosen three ways."""

from __future__ import annotations

from pathlib import Path

import pytest

from press.config import ConfigError, load_config, validate

MINIMAL = '[site]\ntitle = "T"\nurl = "https://example.com/"\nauthor = "A"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "press.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_fill_what_is_not_given(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.site.url == "https://example.com"
    assert config.site.timezone.key == "UTC"
    assert config.feeds.items == 50
    assert config.feeds.formats == ("atom", "rss", "json")
    assert config.folder("posts") == tmp_path / "posts"


def test_the_bundled_settings() -> None:
    config = load_config(Path(__file__).parent.parent / "press.toml")
    assert config.site.title == "China Bystander"
    assert config.site.language == "en"
    assert config.site.timezone.key == "Europe/London"
    assert config.newsletter.category == "China-Russia"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[feeds]\nitems = 'fifty'\n", "feeds.items: expected a whole number"),
        ("[feeds]\nitems = -1\n", "feeds.items: expected a whole number"),
        ("[feeds]\nitms = 5\n", "unknown setting feeds.itms; did you mean feeds.items?"),
        ("[feed]\nitems = 5\n", "unknown section [feed]; did you mean feeds?"),
        ("[feeds]\nformats = ['atom', 'rdf']\n", "feeds.formats: expected a list"),
        ("[feeds]\npermalink = '/{year}/'\n", "feeds.permalink: expected a path with {slug}"),
        ("[feeds]\npermalink = '/{hour}/{slug}/'\n", "feeds.permalink: only {year}"),
        ("[feeds]\nhub = 'not a url'\n", "feeds.hub: expected an absolute http(s) URL"),
        ("[newsletter]\ncategory = ''\n", "newsletter.category: must not be empty"),
    ],
)
def test_a_wrong_key_is_named(tmp_path: Path, extra: str, message: str) -> None:
    path = write(tmp_path, MINIMAL + extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert f"{path}: {message}" in str(caught.value)


def test_wrong_site_values(tmp_path: Path) -> None:
    text = '[site]\ntitle = "T"\nurl = "example.com"\ntimezone = "Mars/Olympus"\n'
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    message = str(caught.value)
    assert "site.url: expected an absolute http(s) URL" in message
    assert "site.timezone: not a known time zone: 'Mars/Olympus'" in message
    assert "site.author: required" in message


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not found in .*PRESS_CONFIG"):
        load_config(tmp_path / "press.toml")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 2"):
        load_config(write(tmp_path, '[site]\ntitle = "unclosed\n'))


def test_validate_reports_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        validate({"site": {"title": 1}, "feeds": {"items": "x"}}, "here.toml")
    lines = str(caught.value).splitlines()
    assert "here.toml: site.title: expected text, got 1" in lines
    assert "here.toml: feeds.items: expected a whole number of 0 or more, got 'x'" in lines
    assert len(lines) == 4  # title, url, author, items


def test_each_typed_section_holds_exactly_its_settings(project: Path) -> None:
    from press.settings import SECTIONS, SETTINGS

    for section, kind in SECTIONS.items():
        keys = [s.key for s in SETTINGS if s.section == section]
        assert list(kind._fields) == keys, section  # type: ignore[attr-defined]
    assert {s.section for s in SETTINGS} == {*SECTIONS, "site"}
    config = load_config(project / "press.toml")
    assert config.feeds.formats == ("atom", "rss", "json")
    assert config.newsletter.category == "China-Russia"
    assert config.delivery.connections == 4 and config.schedule.grace_hours == 12
    with pytest.raises(AttributeError):
        config.feeds.items = 3  # type: ignore[misc]
