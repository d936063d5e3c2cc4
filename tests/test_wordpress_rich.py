"""A WordPress export full of what real ones hold (tables, code, definition lists,
galleries, audio and video, block-editor markup, duplicates, an untitled post) moves in
whole: each post's Markdown is a reviewed golden file, and what press renders of it loses
nothing of the export's text, links, pictures, table cells, list items or code."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from bs4 import BeautifulSoup

from feeds.model import Site
from feeds.posts import parse_post
from feeds.wordpress import wpautop
from press.config import load_config
from press.publish import publish
from press.wordpress import import_wordpress
from tests.conftest import LONDON

FIXTURE = Path(__file__).parent / "data" / "wordpress-rich.xml"
NAMES = [
    "2022-10-03-trade-in-tables.md",
    "2022-10-04-code-terms-and-addresses.md",
    "2022-10-05-samarkand-in-pictures.md",
    "2022-10-06-listen-and-watch.md",
    "2022-10-07-duplicated.md",
    "2022-10-07-duplicated-2.md",
    "2022-10-08-quick-note-the-summit-is-postponed-until-the-spring-say.md",
]
# The pictures attached to post 303, which its [gallery] (no ids) shows, in menu order.
ATTACHED = ["https://example.files/flags.jpg", "https://example.files/handshake.jpg"]


@pytest.fixture
def imported(project: Path) -> Path:
    for post in (project / "posts").iterdir():
        post.unlink()
    run(project)
    return project


def run(project: Path) -> Any:
    return import_wordpress(FIXTURE, project / "posts", project / "var", LONDON)


def test_every_post_is_imported_and_the_odd_ones_say_so(project: Path) -> None:
    for post in (project / "posts").iterdir():
        post.unlink()
    report = run(project)
    assert report.imported == NAMES and report.problems == []
    guid = "https://chinabystander.wordpress.com/?p=305"
    assert report.warnings == [
        f"item 6 (line 180): its guid {guid} is also item 5 (line 167)'s; its feed id is"
        f" {guid}#wp-306",
        "item 6 (line 180): another post has its day and slug; this one's slug is duplicated-2",
        "item 7 (line 193): no title; titled 'Quick note: the summit is postponed until the"
        " spring, say…'",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_golden_markdown(imported: Path, golden: Any, name: str) -> None:
    golden(f"wordpress/{name}", (imported / "posts" / name).read_bytes())


def test_a_reimport_says_unchanged_for_every_post(imported: Path) -> None:
    report = run(imported)
    assert report.unchanged == NAMES and report.imported == report.updated == []
    (imported / "var" / "import-wordpress.json").unlink()  # by guid from the files, too
    report = run(imported)
    assert sorted(report.unchanged) == sorted(NAMES) and report.imported == []


def test_both_duplicates_reach_the_feed_with_their_own_ids(imported: Path) -> None:
    publish(load_config(imported / "press.toml"), datetime(2026, 1, 1, tzinfo=UTC))
    feed = feedparser.parse((imported / "public/feeds/all.atom.xml").read_bytes())
    ids = [e.id for e in feed.entries]
    assert len(ids) == len(set(ids)) == len(NAMES)
    guid = "https://chinabystander.wordpress.com/?p=305"
    assert guid in ids and f"{guid}#wp-306" in ids
    links = [e.link for e in feed.entries]
    assert len(links) == len(set(links))  # and their own pages


def test_excerpt_and_featured_picture(imported: Path, site: Site) -> None:
    post = parse_post("p.md", (imported / "posts" / NAMES[0]).read_bytes(), site)
    assert post.summary == "Trade grew by a third in a year."
    assert post.image == "https://example.files/port.jpg"
    assert post.image_alt == "Stacks of shipping containers on a quay"
    assert post.caption == "Containers at Vladivostok."


def test_audio_and_video_play_on_the_page(imported: Path, site: Site) -> None:
    html = parse_post("p.md", (imported / "posts" / NAMES[3]).read_bytes(), site).html
    assert '<audio controls="" src="https://example.files/podcast-12.mp3">' in html
    assert 'poster="https://example.files/parade.jpg"' in html
    assert "<figcaption>The handshake</figcaption>" in html
    assert "autoplay" not in html and "wp-block" not in html and "data-" not in html


# What a reader gets of a post, to compare the export's HTML with what press renders.
SHORTCODE = re.compile(r"\[/?\w+[^\]]*\]")
URL_IN_SHORTCODE = re.compile(r"(?:src|mp3|mp4|poster)?=?\"?(https?://[^\s\"\]]+)")
BACKGROUND = re.compile(r"background-image:\s*url\(([^)]+)\)")


def reading(html: str) -> dict[str, Counter[str]]:
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")  # as a browser shows it, in code too
    text = lambda node: " ".join(node.get_text(" ").split())  # noqa: E731
    media = [n.get("src") for n in soup.find_all(["audio", "video", "source"]) if n.get("src")]
    return {
        "words": Counter(soup.get_text(" ").split()),
        "links": Counter([a["href"] for a in soup.find_all("a", href=True)] + media),
        "pictures": Counter(
            [i["src"] for i in soup.find_all("img", src=True)]
            + [v["poster"] for v in soup.find_all("video", poster=True)]
            + [m.strip("'\"") for m in BACKGROUND.findall(html)]
        ),
        "cells": Counter(text(c) for c in soup.find_all(["td", "th"])),
        "items": Counter(text(li) for li in soup.find_all("li")),
        "code": Counter(pre.get_text().rstrip("\n") for pre in soup.find_all("pre")),
    }


def export_reading(content: str) -> dict[str, Counter[str]]:
    """The export's content as WordPress shows it, its shortcodes' files as links."""
    found = reading(wpautop(SHORTCODE.sub(" ", content)))
    for code in SHORTCODE.findall(content):
        for url in URL_IN_SHORTCODE.findall(code):
            key = "pictures" if url.endswith(".jpg") else "links"
            found[key][url] += 1
    if "[gallery]" in content:
        found["pictures"].update(ATTACHED)
    return found


def contents() -> list[tuple[str, str]]:
    from lxml import etree

    namespace = "{http://purl.org/rss/1.0/modules/content/}encoded"
    items = etree.parse(str(FIXTURE)).getroot().iter("item")
    bodies = [item.findtext(namespace) for item in items]
    return list(zip(NAMES, [b for b in bodies if b is not None], strict=True))


def test_nothing_of_any_post_is_lost(imported: Path, site: Site) -> None:
    lost: dict[str, dict[str, list[str]]] = {}
    counted: Counter[str] = Counter()
    for name, content in contents():
        rendered = reading(parse_post(name, (imported / "posts" / name).read_bytes(), site).html)
        expected = export_reading(content)
        for kind, wanted in expected.items():
            counted[kind] += sum(wanted.values())
            missing = wanted - rendered[kind]
            if missing:
                lost.setdefault(name, {})[kind] = sorted(missing.elements())
    print("compared:", dict(counted))
    assert (counted["cells"], counted["code"], counted["pictures"]) == (9, 1, 6)
    assert lost == {}


def test_the_measure_finds_a_loss() -> None:
    export = export_reading("<p>one <sup>2</sup></p><table><tr><td>a</td></tr></table>")
    rendered = reading("<p>one</p><table><tr><td>b</td></tr></table>")
    assert export["words"] - rendered["words"] == Counter({"2": 1, "a": 1})
    assert export["cells"] - rendered["cells"] == Counter({"a": 1})


@pytest.mark.slow  # Chromium, three times
@pytest.mark.parametrize(
    "name", ["trade-in-tables", "listen-and-watch", "code-terms-and-addresses"]
)
def test_the_richest_posts_fit_a_phone(imported: Path, name: str) -> None:
    from tests.browser import scroll_width

    publish(load_config(imported / "press.toml"), datetime(2026, 1, 1, tzinfo=UTC))
    public = imported / "public"
    [page] = public.glob(f"2022/10/*/{name}/index.html")
    css = (public / "style.css").read_text(encoding="utf-8")
    html = re.sub(r'<link rel="stylesheet"[^>]*>', f"<style>{css}</style>", page.read_text())
    assert scroll_width(html, 375) <= 375


def test_many_posts_of_one_day_and_slug_each_get_their_own_name(
    project: Path, tmp_path: Path
) -> None:
    head = FIXTURE.read_text().split("\t<item>", 1)[0]
    item = (
        "<item><title>Same</title><wp:post_id>{n}</wp:post_id><guid>urn:same</guid>"
        "<content:encoded><![CDATA[Copy {n}.]]></content:encoded>"
        "<wp:post_date_gmt>2022-10-09 08:00:00</wp:post_date_gmt>"
        "<wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item>\n"
    )
    export = tmp_path / "same.xml"
    export.write_text(head + "".join(item.format(n=n) for n in range(1, 41)) + "</channel></rss>")
    posts = project / "posts"
    for post in posts.iterdir():
        post.unlink()
    report = import_wordpress(export, posts, project / "var", LONDON)
    names = sorted(p.name for p in posts.iterdir())
    assert len(report.imported) == len(names) == 40
    assert "2022-10-09-same.md" in names and "2022-10-09-same-40.md" in names
    guids = {line for p in posts.iterdir() for line in p.read_text().splitlines() if "guid" in line}
    assert len(guids) == 40  # one id each, the first the guid itself
    again = import_wordpress(export, posts, project / "var", LONDON)
    assert len(again.unchanged) == 40 and again.imported == again.updated == []


def test_no_line_of_bare_spaces_and_no_line_break_the_content_lacks(imported: Path) -> None:
    lines = [line for name in NAMES for line in (imported / "posts" / name).read_text().split("\n")]
    assert [line for line in lines if line and not line.strip()] == []
    # The address's two lines are the only hard breaks outside HTML: block-editor
    # paragraphs, lists and tables get none (a newline there is a space, as WordPress
    # shows it).
    assert sum(line.endswith("\\") for line in lines) == 2
