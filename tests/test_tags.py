"""Tags reach readers: each tag is a category with its own scheme in the feeds, and has
a page and a feed (Atom, RSS, JSON Feed), listed in the OPML and on the feeds index."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from press.config import load_config
from press.publish import PublishResult, publish
from tests.test_feeds import check_json_feed

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://chinabystander.com/"
SCHEME = URL + "tag/"
SAMARKAND = "2022-09-08-xi-and-putin-to-meet-in-samarkand.md"
BIG_BROTHER = "2022-09-16-china-is-becoming-the-big-brother-in-its-friendship-with-russia.md"
TRADE = "2022-04-14-china-russia-trade-slows-in-march.md"


def tag(project: Path, name: str, tags: str) -> None:
    path = project / "posts" / name
    text = path.read_text()
    path.write_text(re.sub(r"^categories:.*$", rf"\g<0>\ntags: {tags}", text, count=1, flags=re.M))


def run(project: Path) -> PublishResult:
    return publish(load_config(project / "press.toml"), NOW)


@pytest.fixture
def tagged(project: Path) -> Path:
    tag(project, SAMARKAND, '[SCO, "Xi Jinping"]')
    tag(project, BIG_BROTHER, '[SCO, "xi  jinping", Samarkand]')  # one slug: one tag
    tag(project, TRADE, '["Belt and Road", "!!!"]')  # no letter: a JSON Feed tag only
    run(project)
    return project


def feed(project: Path, slug: str, kind: str) -> Any:
    parsed = feedparser.parse((project / "public/feeds/tag" / f"{slug}.{kind}.xml").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed


def test_each_tag_has_a_feed_in_three_formats(tagged: Path) -> None:
    folder = tagged / "public" / "feeds" / "tag"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{slug}{suffix}"
        for slug in ("belt-and-road", "samarkand", "sco", "xi-jinping")
        for suffix in (".atom.xml", ".rss.xml", ".json")
    )
    for kind in ("atom", "rss"):
        sco = feed(tagged, "sco", kind)
        assert sco.feed.title == "Tagged SCO – China Bystander"
        assert [e.title[:12] for e in sco.entries] == ["China Is Bec", "Xi and Putin"]
        xi = feed(tagged, "xi-jinping", kind)
        # One tag, named as the newest post spells it (as a category is).
        assert xi.feed.title == "Tagged xi jinping – China Bystander"
        assert len(xi.entries) == 2
        assert {link.href for link in sco.feed.links if link.rel == "alternate"} == {
            SCHEME + "sco/"
        }
    document = json.loads((folder / "sco.json").read_text())
    check_json_feed(document)
    assert document["home_page_url"] == SCHEME + "sco/"


def test_tags_are_categories_with_a_scheme(tagged: Path) -> None:
    site_feed = tagged / "public" / "feeds" / "all.atom.xml"
    entry = feedparser.parse(site_feed.read_bytes()).entries[0]  # the Big Brother post
    terms = {(t.term, t.scheme, t.label) for t in entry.tags}
    assert terms == {
        ("china-russia", None, "China-Russia"),
        ("china-central-asia", None, "China-Central Asia"),
        ("sco", SCHEME, "SCO"),
        ("xi-jinping", SCHEME, "xi jinping"),
        ("samarkand", SCHEME, "Samarkand"),
    }
    rss = (tagged / "public" / "feeds" / "all.rss.xml").read_text()
    assert f'<category domain="{SCHEME}">SCO</category>' in rss
    assert "<category>China-Russia</category>" in rss  # categories as they were
    items = json.loads((tagged / "public/feeds/all.json").read_text())["items"]
    trade = next(item for item in items if "trade-slows" in item["url"])
    assert trade["tags"][-2:] == ["Belt and Road", "!!!"]  # categories, then the tags


def test_each_tag_has_a_page_and_posts_link_their_tags(tagged: Path) -> None:
    public = tagged / "public"
    page = (public / "tag" / "sco" / "index.html").read_text()
    assert "<h1>Tag Archives: SCO</h1>" in page
    assert page.count('<article class="entry">') == 2
    assert f'href="{URL}feeds/tag/sco.atom.xml"' in page  # autodiscovery and the links
    post = (public / "2022" / "09" / "16").glob("*/index.html")
    html = next(post).read_text()
    assert '<p class="filed tags">Tagged <a href="/tag/sco/" rel="tag">SCO</a>' in html
    for link in re.findall(r'href="(/tag/[^"]+)"', html):
        assert (public / link.lstrip("/") / "index.html").is_file(), link
    untagged = next((public / "2022" / "02" / "05").glob("*/index.html")).read_text()
    assert "Tagged" not in untagged


def test_the_opml_the_feeds_index_and_the_sitemap_list_the_tags(tagged: Path) -> None:
    public = tagged / "public"
    opml = (public / "feeds" / "feeds.opml").read_text()
    assert f'xmlUrl="{URL}feeds/tag/sco.atom.xml" htmlUrl="{SCHEME}sco/"' in opml
    index = (public / "feeds" / "index.html").read_text()
    assert "Tagged Belt and Road – China Bystander" in index
    sitemap = (public / "sitemap.xml").read_text()
    assert f"<loc>{SCHEME}samarkand/</loc>" in sitemap


def test_a_tag_no_post_has_any_more_is_removed(tagged: Path) -> None:
    path = tagged / "posts" / TRADE
    path.write_text(path.read_text().replace('tags: ["Belt and Road", "!!!"]\n', ""))
    result = run(tagged)
    assert sorted(result.report.removed) == [
        "feeds/tag/belt-and-road.atom.xml", "feeds/tag/belt-and-road.json",
        "feeds/tag/belt-and-road.rss.xml", "tag/belt-and-road/index.html",
    ]  # fmt: skip
    assert run(tagged).report.written == []  # and the next publish writes nothing


def test_publishing_twice_writes_nothing(tagged: Path) -> None:
    assert run(tagged).report.written == []


def test_golden_tag_feed_and_page(tagged: Path, golden: Any) -> None:
    public = tagged / "public"
    for suffix in (".atom.xml", ".rss.xml", ".json"):
        golden(f"feeds/tag-sco{suffix}", (public / "feeds" / "tag" / f"sco{suffix}").read_bytes())
    golden("pages/tag-sco.html", (public / "tag" / "sco" / "index.html").read_bytes())
