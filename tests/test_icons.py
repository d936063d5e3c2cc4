"""The site's icon: press's own from the initials when none is set, else the configured
icon and logo, in every feed format and on every page."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import pytest

from feeds.icon import initials
from press.config import load_config
from press.publish import publish

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("title", "letters"),
    [("China Bystander", "CB"), ("the bystander", "TB"), ("Écrits", "É"), ("— !", "?")],
)
def test_initials(title: str, letters: str) -> None:
    assert initials(title) == letters


def test_without_an_icon_press_makes_one_from_the_initials(project: Path) -> None:
    from PIL import Image

    publish(load_config(project / "press.toml"), NOW)
    public = project / "public"
    svg = ElementTree.parse(public / "favicon.svg").getroot()
    assert "".join(svg.itertext()) == "CB"
    with Image.open(public / "favicon.ico") as ico:
        assert ico.format == "ICO" and ico.info["sizes"] == {(16, 16), (32, 32), (48, 48)}
    with Image.open(public / "apple-touch-icon.png") as png:
        assert png.format == "PNG" and png.size == (180, 180)
        rgb = png.convert("RGB")
        assert rgb.getpixel((2, 2)) == (0x8A, 0x1C, 0x1C)  # square, red to the corner
        colours = dict((colour, count) for count, colour in rgb.getcolors(maxcolors=65536))
        assert colours[(255, 255, 255)] > 180 * 180 // 20  # the letters are drawn
    page = (public / "index.html").read_text()
    assert '<link rel="icon" href="/favicon.ico" sizes="32x32">' in page
    assert (
        '<link rel="icon" href="https://chinabystander.com/favicon.svg" type="image/svg+xml">'
        in page
    )
    logo = "https://chinabystander.com/apple-touch-icon.png"
    assert f'<link rel="apple-touch-icon" href="{logo}">' in page
    atom = feedparser.parse((public / "feeds/all.atom.xml").read_bytes()).feed
    assert atom.icon == "https://chinabystander.com/favicon.svg" and atom.logo == logo
    rss = feedparser.parse((public / "feeds/all.rss.xml").read_bytes())
    assert not rss.bozo and rss.feed.image.href == logo  # RSS: a PNG, not the SVG
    document = json.loads((public / "feeds/all.json").read_text())
    assert document["favicon"] == "https://chinabystander.com/favicon.svg"
    assert document["icon"] == logo


def test_the_default_icons_are_the_same_bytes_each_time(project: Path, tmp_path: Path) -> None:
    import shutil

    publish(load_config(project / "press.toml"), NOW)
    other = tmp_path / "elsewhere"
    shutil.copytree(project, other, ignore=shutil.ignore_patterns("public", "var"))
    publish(load_config(other / "press.toml"), NOW)
    for name in ("favicon.ico", "apple-touch-icon.png", "favicon.svg"):
        assert (other / "public" / name).read_bytes() == (project / "public" / name).read_bytes()


def test_a_configured_icon_and_logo_reach_every_format(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(
        toml.read_text().replace(
            "[site]\n", '[site]\nicon = "/icon.png"\nlogo = "https://cdn.example/logo.png"\n', 1
        )
    )
    publish(load_config(toml), NOW)
    public = project / "public"
    for name in ("favicon.svg", "favicon.ico", "apple-touch-icon.png"):
        assert not (public / name).exists(), name
    atom = feedparser.parse((public / "feeds/all.atom.xml").read_bytes())
    assert not atom.bozo
    assert atom.feed.icon == "https://chinabystander.com/icon.png"
    assert atom.feed.logo == "https://cdn.example/logo.png"
    rss = feedparser.parse((public / "feeds/all.rss.xml").read_bytes())
    assert not rss.bozo and rss.feed.image.href == "https://cdn.example/logo.png"
    assert rss.feed.image.link == "https://chinabystander.com/"
    document = json.loads((public / "feeds/all.json").read_text())
    assert document["favicon"] == "https://chinabystander.com/icon.png"
    assert document["icon"] == "https://cdn.example/logo.png"
    page = (
        public
        / "2022/09/16/china-is-becoming-the-big-brother-in-its-friendship-with-russia/index.html"
    ).read_text()
    assert '<link rel="icon" href="https://chinabystander.com/icon.png">' in page
    assert '<link rel="apple-touch-icon" href="https://cdn.example/logo.png">' in page


def test_an_icon_must_be_on_the_site_or_a_url(project: Path) -> None:
    from press.config import ConfigError

    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("[site]\n", '[site]\nicon = "icon.png"\n', 1))
    with pytest.raises(ConfigError, match=r"site\.icon"):
        load_config(toml)
