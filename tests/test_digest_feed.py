"""The digests' web archive as a feed (``feeds/newsletter.*``): a reader who would rather
not have the email follows the weekly digest in a feed reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

from press.config import load_config
from press.publish import publish

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://chinabystander.com/"
WEEKS = ["W37", "W36", "W21", "W15", "W11", "W10", "W08", "W05"]  # newest first


def run(project: Path, now: datetime = NOW) -> Path:
    publish(load_config(project / "press.toml"), now)
    return project / "public"


def local(public: Path, url: str) -> Path:
    assert url.startswith(URL), url
    return public / url.removeprefix(URL)


def test_each_digest_is_an_entry_linking_its_web_copy(project: Path) -> None:
    public = run(project)
    for kind in ("atom", "rss"):
        parsed = feedparser.parse((public / "feeds" / f"newsletter.{kind}.xml").read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.feed.title == "China-Russia weekly digest – China Bystander"
        links = [entry.link for entry in parsed.entries]
        assert links == [f"{URL}newsletter/2022-{week}-china-russia.html" for week in WEEKS]
        assert all(local(public, link).is_file() for link in links)
        first = parsed.entries[0]
        assert first.title.startswith("China-Russia this week: China Is Becoming The Big")
        assert "comments" not in first  # a web copy has no comments
        # The week's posts, each linked, as the email lists them.
        text = first.content[0].value
        assert text.count(f'href="{URL}20') == 2
    data = json.loads((public / "feeds" / "newsletter.json").read_text())
    assert data["items"][0]["url"].endswith("2022-W37-china-russia.html")
    assert all("comments_url" not in item["_press"] for item in data["items"])


def test_the_newsletter_index_names_its_feed(project: Path) -> None:
    index = (run(project) / "newsletter" / "index.html").read_text()
    assert '<link rel="alternate" type="application/atom+xml"' in index
    assert f"{URL}feeds/newsletter.atom.xml" in index


def test_the_current_week_is_not_in_the_feed_before_it_is_sent(project: Path) -> None:
    public = run(project, datetime(2022, 9, 15, 12, tzinfo=UTC))
    parsed = feedparser.parse((public / "feeds" / "newsletter.atom.xml").read_bytes())
    assert parsed.entries[0].link.endswith("/2022-W36-china-russia.html")


def test_the_digest_feed_has_archive_documents(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("items = 50", "items = 3", 1))
    public = run(project)
    documents = []
    path = public / "feeds" / "newsletter.atom.xml"
    while True:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo
        documents.append([entry.link for entry in parsed.entries])
        older = {link.rel: link.href for link in parsed.feed.links}.get("prev-archive")
        if older is None:
            break
        path = local(public, older)
    current, *archives = documents
    assert len(archives) == 2 and len(current) == 3
    in_archives = [link for document in archives for link in document]
    assert len(in_archives) == len(set(in_archives)) == 6  # two complete documents of three
    assert set(in_archives) | set(current) == {
        f"{URL}newsletter/2022-{week}-china-russia.html" for week in WEEKS
    }  # with the subscription feed: every digest


def test_golden_digest_feed(project: Path, golden: Any) -> None:
    public = run(project)
    golden("feeds/newsletter.atom.xml", (public / "feeds" / "newsletter.atom.xml").read_bytes())
    golden("feeds/newsletter.json", (public / "feeds" / "newsletter.json").read_bytes())


def test_the_feeds_index_and_opml_list_the_digest_feed(project: Path) -> None:
    public = run(project)
    opml = (public / "feeds" / "feeds.opml").read_text()
    assert f'xmlUrl="{URL}feeds/newsletter.atom.xml"' in opml
    assert f'htmlUrl="{URL}newsletter/"' in opml
    index = (public / "feeds" / "index.html").read_text()
    assert "China-Russia weekly digest" in index and "feeds/newsletter.rss.xml" in index


def test_no_digest_feed_without_the_archive(project: Path) -> None:
    toml = project / "press.toml"
    text = toml.read_text()
    assert "[newsletter]" in text
    toml.write_text(text.replace("[newsletter]", "[newsletter]\narchive = false", 1))
    public = run(project)
    assert not (public / "feeds" / "newsletter.atom.xml").exists()
    assert "newsletter" not in (public / "feeds" / "feeds.opml").read_text()
