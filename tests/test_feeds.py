"""The feeds: valid, faithful, stable, and written safely."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.build import SUFFIXES, Feed, plan_feeds, xml_feeds
from feeds.entry import Entries, entry_id
from feeds.errors import PostError
from feeds.jsonfeed import json_feed
from feeds.model import Site
from feeds.posts import parse_post
from feeds.text import fold_space
from press.config import load_config
from press.publish import PublishResult, publish
from tests.conftest import LONDON
from tests.feedgen_entries import feedgen_document
from tests.htmlcheck import unsafe_markup

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ATOM = "http://www.w3.org/2005/Atom"
CATEGORIES = [
    "agriculture", "china-australia", "china-central-asia", "china-eu", "china-india",
    "china-japan", "china-russia", "china-us", "defence", "energy", "financial-services",
    "trade",
]  # fmt: skip


def run_publish(project: Path, now: datetime = NOW) -> PublishResult:
    return publish(load_config(project / "press.toml"), now)


def feed_files(public: Path) -> list[Path]:
    return sorted(p for p in (public / "feeds").rglob("*") if p.suffix in (".xml", ".json"))


def test_publish_writes_the_42_feeds(project: Path) -> None:
    result = run_publish(project)
    public = project / "public"
    names = [p.relative_to(public).as_posix() for p in feed_files(public)]
    expected = [f"feeds/all{s}" for s in (".atom.xml", ".json", ".rss.xml")]
    expected += [
        f"feeds/category/{c}{s}" for c in CATEGORIES for s in (".atom.xml", ".json", ".rss.xml")
    ]
    expected += [f"feeds/newsletter{s}" for s in (".atom.xml", ".json", ".rss.xml")]  # digests
    assert sorted(names) == sorted(expected)
    assert len(names) == 42
    assert (public / "feeds" / "index.html").is_file()
    assert (public / "feeds" / "feeds.opml").is_file()
    assert result.published == 10 and result.report.removed == []


def test_every_feed_parses_cleanly(project: Path) -> None:
    run_publish(project)
    for path in feed_files(project / "public"):
        if path.suffix == ".json":
            continue
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        ids = [e.id for e in parsed.entries]
        assert len(ids) == len(set(ids)) > 0
        dates = [e.published_parsed for e in parsed.entries]
        assert dates == sorted(dates, reverse=True), f"{path}: not newest first"
        if "category" in path.parts and path.name.endswith(".atom.xml"):
            slug = path.name.removesuffix(".atom.xml")
            assert all(slug in [t.term for t in e.tags] for e in parsed.entries), path


def test_china_russia_feeds_carry_every_post(project: Path) -> None:
    run_publish(project)
    feeds = project / "public" / "feeds" / "category"
    atom = feedparser.parse((feeds / "china-russia.atom.xml").read_bytes())
    rss = feedparser.parse((feeds / "china-russia.rss.xml").read_bytes())
    assert atom.version == "atom10" and rss.version == "rss20"
    assert len(atom.entries) == len(rss.entries) == 10
    first = atom.entries[0]
    assert first.title == "China Is Becoming The Big Brother In Its Friendship With Russia"
    assert first.id == (
        "tag:chinabystander.com,2022-09-16:"
        "china-is-becoming-the-big-brother-in-its-friendship-with-russia"
    )
    assert first.link == (
        "https://chinabystander.com/2022/09/16/"
        "china-is-becoming-the-big-brother-in-its-friendship-with-russia/"
    )
    assert first.published == "2022-09-16T09:00:00+01:00"
    assert [(t.term, t.label) for t in first.tags] == [
        ("china-central-asia", "China-Central Asia"),
        ("china-russia", "China-Russia"),
    ]
    assert "Photo credit: Xinhua/Ju Peng" in first.content[0].value
    assert first.summary.startswith("PRESIDENT XI JINPING")
    assert atom.feed.updated == "2022-09-16T09:00:00+01:00"
    links = {link.rel: link.href for link in atom.feed.links}
    assert links["self"] == "https://chinabystander.com/feeds/category/china-russia.atom.xml"
    assert links["alternate"] == "https://chinabystander.com/category/china-russia/"

    item = rss.entries[1]
    assert item.title == "Russia’s Fulsomeness Discomforts Its Firm Friend China"
    assert item.slash_comments == "1"
    # Atom has the count too (RFC 4685): a replies link with thr:count, and thr:total.
    [replies] = [link for link in atom.entries[1].links if link.rel == "replies"]
    assert replies.href == item.link + "#comments" and replies.count == "1"
    assert atom.entries[1].thr_total == "1"
    assert item.author == "The Bystander"  # dc:creator
    # A caption without a picture is a note of its own, not an empty figure.
    assert item.content[0].value.startswith('<p class="caption-note"><em>Li Zhanshu')
    assert item.summary.startswith("MOSCOW HAS BEEN")
    assert rss.feed.link == "https://chinabystander.com/category/china-russia/"
    assert rss.feed.updated == "Fri, 16 Sep 2022 09:00:00 +0100"
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries]


JSON_FEED_TYPES: dict[str, Any] = {
    "version": str, "title": str, "home_page_url": str, "feed_url": str,
    "description": str, "language": str, "authors": list, "items": list,
}  # fmt: skip
JSON_ITEM_TYPES: dict[str, Any] = {
    "id": str, "url": str, "title": str, "content_html": str, "summary": str,
    "date_published": str, "date_modified": str, "authors": list, "tags": list,
}  # fmt: skip


def check_json_feed(document: dict[str, Any]) -> None:
    """The JSON Feed 1.1 structure: required keys, types, dates in RFC 3339."""
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    for key, kind in JSON_FEED_TYPES.items():
        assert isinstance(document[key], kind), key
    for key in document:
        assert key in JSON_FEED_TYPES or key in ("hubs", "icon", "favicon") or key.startswith("_")
    for item in document["items"]:
        assert "id" in item and ("content_html" in item or "content_text" in item)
        for key, kind in JSON_ITEM_TYPES.items():
            assert isinstance(item[key], kind), key
        for key in item:
            assert key in JSON_ITEM_TYPES or key in ("image",) or key.startswith("_"), key
        datetime.fromisoformat(item["date_published"])
        assert all(isinstance(a["name"], str) for a in item["authors"])


def test_json_feeds_follow_the_1_1_structure(project: Path) -> None:
    run_publish(project)
    for path in feed_files(project / "public"):
        if path.suffix == ".json":
            document = json.loads(path.read_bytes())
            check_json_feed(document)
            ids = [i["id"] for i in document["items"]]
            assert len(ids) == len(set(ids)) > 0
    document = json.loads((project / "public/feeds/category/china-russia.json").read_bytes())
    assert len(document["items"]) == 10
    assert document["items"][3]["_press"]["comments"] == 0
    assert document["items"][9]["_press"]["comments"] == 4


def test_golden_feeds(project: Path, golden: Any) -> None:
    run_publish(project)
    feeds = project / "public" / "feeds"
    for name in ("china-russia.atom.xml", "china-russia.rss.xml", "china-russia.json"):
        golden(f"feeds/{name}", (feeds / "category" / name).read_bytes())
    golden("feeds/all.atom.xml", (feeds / "all.atom.xml").read_bytes())
    golden("feeds/feeds.opml", (feeds / "feeds.opml").read_bytes())


def test_publishing_twice_writes_nothing(project: Path) -> None:
    run_publish(project)
    files = sorted((project / "public").rglob("*"))
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files if p.is_file()}
    result = run_publish(project)
    assert result.report.written == [] and result.report.removed == []
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files if p.is_file()}
    assert after == before


def test_same_bytes_on_another_machine(project: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "elsewhere"
    shutil.copytree(project, other)
    run_publish(project)
    run_publish(other, now=datetime(2030, 6, 1, tzinfo=UTC))  # another day, same posts
    for path in feed_files(project / "public"):
        twin = other / path.relative_to(project)
        assert twin.read_bytes() == path.read_bytes(), path


def ids_by_title(path: Path) -> dict[str, str]:
    return {e.title: e.id for e in feedparser.parse(path.read_bytes()).entries}


def test_ids_survive_an_edit_and_a_rename(project: Path) -> None:
    run_publish(project)
    feed = project / "public/feeds/all.atom.xml"
    before = ids_by_title(feed)
    posts = project / "posts"
    source = posts / "2022-04-14-china-russia-trade-slows-in-march.md"
    text = source.read_text().replace("April’s data may bring", "April’s figures may bring")
    text = text.replace("comments: 0", "comments: 2\nupdated: 2022-04-15T10:00:00+01:00")
    source.unlink()
    (posts / "renamed.md").write_text(text)
    result = run_publish(project)
    assert "feeds/all.atom.xml" in result.report.written
    assert ids_by_title(feed) == before
    entry = next(e for e in feedparser.parse(feed.read_bytes()).entries if "Slows" in e.title)
    assert entry.updated == "2022-04-15T10:00:00+01:00"
    assert "April’s figures may bring" in entry.content[0].value


def test_an_explicit_guid_is_the_id(site: Site) -> None:
    data = (
        b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\nguid: http://old.example/?p=12\n---\nx"
    )
    post = parse_post("p.md", data, site)
    assert entry_id(site, post) == "http://old.example/?p=12"


def test_a_new_post_touches_only_its_feeds(project: Path) -> None:
    run_publish(project)
    (project / "posts" / "new.md").write_text(
        "---\ntitle: Trade Rebounds\ndate: 2022-10-01T09:00:00+01:00\n"
        "categories: [Trade, Energy]\n---\nTRADE IS UP.\n"
    )
    result = run_publish(project)
    feeds_written = sorted(p for p in result.report.written if p.startswith("feeds/"))
    expected = sorted(
        f"feeds/{name}{suffix}"
        for name in ("all", "category/trade", "category/energy")
        for suffix in (".atom.xml", ".rss.xml", ".json")
    )
    assert feeds_written == expected
    trade = feedparser.parse((project / "public/feeds/category/trade.atom.xml").read_bytes())
    assert trade.entries[0].title == "Trade Rebounds"


def test_an_empty_category_loses_its_feeds(project: Path) -> None:
    run_publish(project)
    source = (
        project / "posts" / "2022-02-25-china-will-help-russia-economically-but-on-its-own-terms.md"
    )
    source.unlink()  # the only post in Agriculture and Energy
    result = run_publish(project)
    gone = sorted(f"feeds/category/{c}{s}" for c in ("agriculture", "energy")
                  for s in (".atom.xml", ".json", ".rss.xml"))  # fmt: skip
    assert [p for p in result.report.removed if p.startswith("feeds/")] == gone
    pages = ["category/agriculture/index.html", "category/energy/index.html"]
    assert [p for p in result.report.removed if p.startswith("category/")] == pages
    assert not any((project / "public" / name).exists() for name in gone)


def test_a_bad_post_is_left_out_and_the_rest_publish(project: Path) -> None:
    (project / "posts" / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    result = run_publish(project)
    assert result.loaded.failed == ("posts/broken.md",)
    assert len(feed_files(project / "public")) == 42


def test_drafts_and_future_posts_stay_out(project: Path) -> None:
    (project / "posts" / "later.md").write_text(
        "---\ntitle: Later\ndate: 2026-06-01T09:00:00Z\ncategories: [China-Russia]\n---\nx\n"
    )
    (project / "posts" / "draft.md").write_text(
        "---\ntitle: Draft\ndate: 2022-10-01\ncategories: [Brand New]\ndraft: true\n---\nx\n"
    )
    run_publish(project)
    feed = project / "public/feeds/category/china-russia.atom.xml"
    assert "Later" not in ids_by_title(feed)
    assert not (project / "public/feeds/category/brand-new.atom.xml").exists()
    run_publish(project, now=datetime(2026, 6, 1, 9, tzinfo=UTC))
    assert next(iter(ids_by_title(feed))) == "Later"


def test_items_per_feed(project: Path) -> None:
    text = (project / "press.toml").read_text().replace("items = 50", "items = 3")
    (project / "press.toml").write_text(text)
    run_publish(project)
    parsed = feedparser.parse((project / "public/feeds/all.rss.xml").read_bytes())
    assert [e.title for e in parsed.entries] == [
        "China Is Becoming The Big Brother In Its Friendship With Russia",
        "Russia’s Fulsomeness Discomforts Its Firm Friend China",
        "Xi and Putin To Meet In Samarkand",
    ]
    (project / "press.toml").write_text(text.replace("items = 3", "items = 0"))
    run_publish(project)
    assert len(feedparser.parse((project / "public/feeds/all.rss.xml").read_bytes()).entries) == 10


def test_links_and_images_in_content_are_absolute(site: Site) -> None:
    body = "See [the archive](../archive/) and ![a map](/img/map.png) or [x](#note)."
    data = f"---\ntitle: T\ndate: 2022-09-16T09:00:00+01:00\ncategories: [A]\n---\n{body}"
    post = parse_post("p.md", data.encode(), site)
    [feed] = [f for f in plan_feeds(site, [post], 50) if f.key == "all"]
    atom = xml_feeds(site, feed, ["atom"])["atom"]
    content = feedparser.parse(atom).entries[0].content[0].value
    assert 'href="https://chinabystander.com/2022/09/16/archive/"' in content
    assert 'src="https://chinabystander.com/img/map.png"' in content
    assert 'href="https://chinabystander.com/2022/09/16/t/#note"' in content


def test_unsafe_html_never_reaches_the_bytes(site: Site) -> None:
    body = '<script>alert("x")</script><p onclick="evil()">Hi</p><a href="javascript:x()">l</a>'
    data = f"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\n---\n{body}"
    post = parse_post("p.md", data.encode(), site)
    feed = Feed("all", "S", "S", site.url, (post,))
    both = xml_feeds(site, feed, ["atom", "rss"])
    atom, rss = both["atom"], both["rss"]
    # Judged on the raw bytes: feedparser would remove <script> itself when reading.
    for raw in (atom, rss, json_feed(site, feed)):
        text = raw.decode()
        assert "alert(" not in text and "evil()" not in text and "javascript:" not in text


def test_websub_pings_changed_feeds_only(project: Path) -> None:
    from tests.servers import recording_http_server

    with recording_http_server() as hub:
        text = (project / "press.toml").read_text()
        (project / "press.toml").write_text(text.replace("[feeds]", f'[feeds]\nhub = "{hub.url}"'))
        run_publish(project)
        first = sorted(hub.form_values("hub.url"))
        assert len(first) == 42
        assert all(body["hub.mode"] == ["publish"] for body in hub.forms())
        atom = (project / "public/feeds/all.atom.xml").read_text()
        assert f'<link href="{hub.url}" rel="hub"/>' in atom
        hub.clear()
        run_publish(project)
        assert hub.requests == []  # nothing changed, nothing announced
        (project / "posts" / "new.md").write_text(
            "---\ntitle: N\ndate: 2022-10-01\ncategories: [Defence]\n---\nx\n"
        )
        run_publish(project)
        assert sorted(hub.form_values("hub.url")) == sorted(
            f"https://chinabystander.com/feeds/{name}{suffix}"
            for name in ("all", "category/defence")
            for suffix in (".atom.xml", ".rss.xml", ".json")
        )


def test_a_hub_that_is_down_is_retried_next_time(project: Path) -> None:
    from tests.servers import free_port, recording_http_server

    port = free_port()
    text = (project / "press.toml").read_text()
    hub_url = f"http://127.0.0.1:{port}/hub"
    (project / "press.toml").write_text(text.replace("[feeds]", f'[feeds]\nhub = "{hub_url}"'))
    result = run_publish(project)  # nothing listens: every ping fails, the publish does not
    assert len(result.announce_failed) == 42 and len(feed_files(project / "public")) == 42
    with recording_http_server(port=port) as hub:
        result = run_publish(project)
        assert result.announce_failed == []
        assert len(hub.form_values("hub.url")) == 42


@pytest.mark.slow
def test_readers_never_see_a_partial_feed(project: Path) -> None:
    run_publish(project)
    feed = project / "public/feeds/all.atom.xml"
    source = (
        project
        / "posts"
        / "2022-09-16-china-is-becoming-the-big-brother-in-its-friendship-with-russia.md"
    )
    original = source.read_text()
    stop = threading.Event()
    failures: list[str] = []
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not stop.is_set():
            data = feed.read_bytes()
            reads += 1
            try:  # a well-formed document with every entry: never a partial file
                entries = ElementTree.fromstring(data).findall(f"{{{ATOM}}}entry")
                if len(entries) != 10:
                    failures.append(f"{len(entries)} entries")
            except ElementTree.ParseError as error:
                failures.append(str(error))
            time.sleep(0.001)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for run in range(50):
            source.write_text(original.replace("Big Brother", f"Big Brother {run}", 1))
            result = run_publish(project)
            assert "feeds/all.atom.xml" in result.report.written
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert reads > 50


def test_two_publish_runs_are_serialised(project: Path) -> None:
    from press.lock import held

    config = load_config(project / "press.toml")
    waited: list[str] = []
    with held(config.folder("var") / "publish.lock"):
        worker = threading.Thread(target=lambda: publish(config, NOW, on_wait=waited.append))
        worker.start()
        worker.join(timeout=0.5)
        assert worker.is_alive()  # waiting for the lock
        assert not (project / "public").exists()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert waited == [f"process {os.getpid()}"]
    assert len(feed_files(project / "public")) == 42


titles = st.text(min_size=1, max_size=80).filter(lambda t: any(c.isalnum() for c in t))
bodies = st.lists(
    st.one_of(
        st.text(max_size=40), st.sampled_from(["&", "<b>", "</p>", "\x00", "\u202e", "עברית"])
    ),
    max_size=5,
).map(" ".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=titles, body=bodies)
def test_any_title_and_body_give_clean_feeds(title: str, body: str) -> None:
    site = Site("S & <Co>", "https://example.com", "A", "en", LONDON)
    quoted = json.dumps(title, ensure_ascii=False)
    data = f"---\ntitle: {quoted}\ndate: 2022-09-16\ncategories: [A]\n---\n{body}"
    try:
        post = parse_post("p.md", data.encode(), site)
    except PostError as error:  # only a title with no text left is refused
        assert error.problem.message.startswith(("title:", "slug:"))
        return
    if not any(c in title for c in "<>&"):  # only control, bidi, invisible characters go
        assert post.title.split() == fold_space(title).split()
    feed = Feed("all", site.title, "d", site.url, (post,))
    both = xml_feeds(site, feed, ["atom", "rss"])
    atom, rss = both["atom"], both["rss"]
    for raw, title_path in (
        (atom, f"{{{ATOM}}}entry/{{{ATOM}}}title"),
        (rss, "channel/item/title"),
    ):
        parsed = feedparser.parse(raw)
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert unsafe_markup(parsed.entries[0].content[0].value) == []
        # The title's text, read by a strict XML parser: feedparser "repairs" text that
        # looks like mis-decoded UTF-8 ("Â¡" becomes "¡"), which would hide our bytes.
        assert ElementTree.fromstring(raw).findtext(title_path) == post.title
    document = json.loads(json_feed(site, feed))
    assert document["items"][0]["title"] == post.title


@pytest.mark.parametrize("only", [("rss",), ("atom",), ("json",)])
def test_one_format_gives_the_same_bytes_as_all_three(project: Path, only: tuple[str, ...]) -> None:
    publish(load_config(project / "press.toml"), NOW)
    everything = {p.name: p.read_bytes() for p in feed_files(project / "public")}
    toml = project / "press.toml"
    listed = ", ".join(f'"{kind}"' for kind in only)
    text = toml.read_text()
    assert 'formats = ["atom", "rss", "json"]' in text
    toml.write_text(text.replace('formats = ["atom", "rss", "json"]', f"formats = [{listed}]"))
    publish(load_config(project / "press.toml"), NOW)
    some = {p.name: p.read_bytes() for p in feed_files(project / "public")}
    assert len(some) == 14 and all(name.endswith(SUFFIXES[only[0]]) for name in some)
    assert some == {name: everything[name] for name in some}


def _post_with(site: Site, extra: str, name: str = "posts/x.md") -> Any:
    from feeds.errors import Problem

    problems: list[Problem] = []
    text = (
        f"---\ntitle: A Post\ndate: 2022-09-16T09:00:00+01:00\ncategories: [China-Russia]\n"
        f"{extra}\n---\nText.\n"
    )
    return parse_post(name, text.encode(), site, warn=problems.append), problems


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/images/p.jpg", "https://chinabystander.com/images/p.jpg"),
        ("p.jpg", "https://chinabystander.com/2022/09/16/a-post/p.jpg"),
        (
            '"https://cdn.example.com/a \\"b\\" é.jpg"',
            "https://cdn.example.com/a%20%22b%22%20%C3%A9.jpg",
        ),
        ("javascript:alert(13)", None),
        ("data:image/png;base64,AAAA", None),
    ],
)
def test_an_image_is_an_absolute_http_url_or_left_out(
    site: Site, given: str, expected: str | None
) -> None:
    post, problems = _post_with(site, f"image: {given}")
    assert post.image == expected
    if expected is None:
        assert [p.message[:7] for p in problems] == ["image: "]
    feed = Feed("all", "All", "All posts", "https://chinabystander.com/", (post,))
    files = {**xml_feeds(site, feed, ("atom", "rss")), "json": json_feed(site, feed)}
    for data in files.values():
        assert b"javascript:" not in data and b"data:image" not in data
        if expected:
            assert expected.encode() in data
    parsed = feedparser.parse(files["rss"])
    assert not parsed.bozo


def test_a_guid_that_is_no_uri_stays_the_rss_guid_and_gives_a_valid_atom_id(site: Site) -> None:
    post, _ = _post_with(site, 'guid: "12345"')
    feed = Feed("all", "All", "All posts", "https://chinabystander.com/", (post,))
    files = xml_feeds(site, feed, ("atom", "rss"))
    atom, rss = feedparser.parse(files["atom"]), feedparser.parse(files["rss"])
    assert atom.entries[0].id == "tag:chinabystander.com,2022-09-16:guid:12345"
    assert rss.entries[0].id == "12345"  # readers that knew it keep it
    assert json.loads(json_feed(site, feed))["items"][0]["id"] == atom.entries[0].id
    uri, _ = _post_with(site, 'guid: "https://old.example.com/?p=12"')
    assert entry_id(site, uri) == "https://old.example.com/?p=12"


def test_tags_are_checked_and_reach_the_json_feed(site: Site) -> None:
    post, _ = _post_with(site, 'tags: [Arctic, "Belt and Road", Arctic, China-Russia]')
    assert post.tags == ("Arctic", "Belt and Road", "China-Russia")
    feed = Feed("all", "All", "All posts", "https://chinabystander.com/", (post,))
    item = json.loads(json_feed(site, feed))["items"][0]
    assert item["tags"] == ["China-Russia", "Arctic", "Belt and Road"]
    with pytest.raises(PostError, match=r"tags: each entry must be a name"):
        _post_with(site, "tags: [[nested]]")


def test_a_huge_post_never_makes_a_feed_past_its_size_limit(site: Site) -> None:
    import dataclasses

    from lxml import etree

    post, _ = _post_with(site, "slug: huge")
    huge = dataclasses.replace(post, body="A long paragraph. " * 600_000)  # 10 MB
    earlier = datetime(2022, 9, 10, 8, tzinfo=UTC)
    small = dataclasses.replace(post, slug="small", body="Small and whole.", date=earlier)
    feed = Feed(
        "all", "All", "All posts", "https://chinabystander.com/", (huge, small), None, 1 << 20
    )
    files = {**xml_feeds(site, feed, ("atom", "rss")), "json": json_feed(site, feed)}
    for kind, data in files.items():
        assert len(data) < 1 << 20, kind
        assert b"Small and whole." in data
        if kind != "json":
            etree.fromstring(data)  # lxml's default parser reads it ("Text node too long" not)
            assert not feedparser.parse(data).bozo
    item = json.loads(files["json"])["items"][0]
    assert "content_html" not in item and item["content_text"] == huge.summary
    unlimited = Feed("all", "All", "All posts", "https://chinabystander.com/", (small,))
    assert b"Small and whole." in json_feed(site, unlimited)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    posts=st.lists(
        st.tuples(
            titles, bodies, st.booleans(), st.integers(0, 3), st.sets(st.sampled_from("ABC"))
        ),
        max_size=9,
    ),
    items=st.integers(0, 4),
    max_kb=st.sampled_from([0, 3, 6]),
    hub=st.sampled_from(["", "https://hub.example/"]),
)
def test_entries_made_once_give_what_feedgen_gives_for_the_whole_document(
    posts: list[tuple[str, str, bool, int, set[str]]], items: int, max_kb: int, hub: str
) -> None:
    # Each post's entry is serialised once and put into every document that carries it;
    # the bytes are those of feedgen's own document, whatever the feeds and entries.
    site = Site("S & <Co>", "https://example.com", "A", "en", LONDON)
    parsed = []
    for number, (title, body, guid, comments, categories) in enumerate(posts):
        front = {
            "title": title,
            "date": f"2022-09-{number + 1:02d}T09:00:00Z",
            "categories": sorted(categories) or ["A"],
            "comments": comments,
            **({"guid": f"wp-{number}"} if guid else {}),
            # Pictures with and without an enclosure, tags that are and are not categories.
            **({"image": f"/p{number}.jpg", "image_length": comments} if comments % 3 else {}),
            "tags": sorted(categories)[:1] + ["T"] * (number % 2),
            # What else an entry may carry: a credit and alt text, a later change, an
            # author of its own, a summary given.
            **({"credit": title, "image_alt": body[:9]} if comments == 2 else {}),
            **({"updated": f"2023-01-{number + 1:02d}T10:30:00+05:00"} if guid else {}),
            **({"author": title, "summary": body} if number % 3 == 1 else {}),
        }
        data = f"---\n{json.dumps(front, ensure_ascii=False)}\n---\n{body * 40}"
        try:
            parsed.append(parse_post(f"p{number}.md", data.encode(), site))
        except PostError:
            continue
    newest_first = sorted(parsed, key=lambda p: p.timestamp, reverse=True)
    entries = Entries()
    for feed in plan_feeds(site, newest_first, items, max_kb * 1024, archives=True):
        for document in (feed, *feed.archives):
            made = xml_feeds(site, document, ["atom", "rss"], hub, entries)
            for kind in ("atom", "rss"):
                whole = feedgen_document(site, document, kind, hub)
                expected = (
                    whole.atom_str(pretty=True) if kind == "atom" else whole.rss_str(pretty=True)
                )
                assert made[kind] == expected, (document.key, document.page, kind)
            # JSON Feed: json.dumps's own bytes for the document, its items made once.
            made_json = json_feed(site, document, hub, entries)
            dumped = json.dumps(json.loads(made_json), ensure_ascii=False, indent=2) + "\n"
            assert made_json == dumped.encode("utf-8"), (document.key, document.page)


def test_a_picture_reaches_readers_as_media_rss_with_its_alt_text(site: Site) -> None:
    front = (
        "title: T\ndate: 2022-09-16\ncategories: [A]\nimage: /img/xi.jpg\n"
        "caption: Xi and Putin\ncredit: Xinhua\nimage_alt: Two men shake hands\n"
    )
    post = parse_post("p.md", f"---\n{front}---\nBody.".encode(), site)
    feed = Feed("all", "S", "S", site.url, (post,))
    files = {**xml_feeds(site, feed, ["atom", "rss"]), "json": json_feed(site, feed)}
    picture = "https://chinabystander.com/img/xi.jpg"
    for kind in ("atom", "rss"):
        parsed = feedparser.parse(files[kind])
        assert not parsed.bozo, kind
        [entry] = parsed.entries
        # The type is read from the URL's ending; no length given: no enclosure.
        assert entry.media_content == [{"url": picture, "medium": "image", "type": "image/jpeg"}], (
            kind
        )
        assert entry.enclosures == [], kind
        assert entry.media_thumbnail == [{"url": picture}], kind
        assert entry.media_credit[0]["content"] == "Xinhua", kind
        content = entry.content[0].value
        assert 'alt="Two men shake hands"' in content and f'src="{picture}"' in content, kind
        assert "<figcaption>Xi and Putin <small>Photo credit: Xinhua</small>" in content, kind
        root = ElementTree.fromstring(files[kind])
        [description] = root.iter("{http://search.yahoo.com/mrss/}description")
        assert description.text == "Two men shake hands"
    assert json.loads(files["json"])["items"][0]["image"] == picture


def test_a_picture_of_known_size_is_an_enclosure_that_validates(site: Site) -> None:
    front = (
        "title: T\ndate: 2022-09-16\ncategories: [A]\nimage: https://cdn.example/xi\n"
        "image_type: image/webp\nimage_length: 48213\n"
    )
    post = parse_post("p.md", f"---\n{front}---\nBody.".encode(), site)
    feed = Feed("all", "S", "S", site.url, (post,))
    files = {**xml_feeds(site, feed, ["atom", "rss"]), "json": json_feed(site, feed)}
    picture = "https://cdn.example/xi"
    for kind in ("atom", "rss"):
        parsed = feedparser.parse(files[kind])
        assert not parsed.bozo, kind
        [entry] = parsed.entries
        [found] = entry.enclosures
        assert (found.href, found.length, found.type) == (picture, "48213", "image/webp"), kind
        assert entry.media_content[0]["filesize"] == "48213", kind
        # One alternate link: the post's page (feedgen alone would add the picture's).
        alternates = [link.href for link in entry.links if link.rel == "alternate"]
        assert alternates == [post.url], kind
    atom = ElementTree.fromstring(files["atom"])
    links = atom.iter("{http://www.w3.org/2005/Atom}link")
    [link] = [e for e in links if e.get("rel") == "enclosure"]
    assert link.attrib == {
        "rel": "enclosure", "type": "image/webp", "length": "48213", "href": picture,
    }  # fmt: skip
    [item] = json.loads(files["json"])["items"]
    assert item["attachments"] == [
        {"url": picture, "mime_type": "image/webp", "size_in_bytes": 48213}
    ]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("image_length: -3", r"p.md:6: image_length: expected a whole number"),
        ("image_length: big", r"p.md:6: image_length: expected a whole number"),
        ("image_type: jpeg", r"p.md:6: image_type: 'jpeg' is not a media type"),
    ],
)
def test_a_bad_enclosure_field_names_its_line(site: Site, extra: str, message: str) -> None:
    text = f"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\nimage: /x.jpg\n{extra}\n---\nB."
    with pytest.raises(PostError, match=message):
        parse_post("p.md", text.encode(), site)


def test_an_enclosure_field_without_what_it_needs_is_a_warning(site: Site) -> None:
    from feeds.posts import parse_source

    text = "---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\nimage_length: 10\n---\nB."
    parsed = parse_source("p.md", text.encode(), site)
    assert [p.message for p in parsed.problems] == ["image_length: no image to describe"]
    text = text.replace("image_length: 10", "image: https://cdn.example/x\nimage_length: 10")
    parsed = parse_source("p.md", text.encode(), site)
    assert [p.message for p in parsed.problems] == [
        "image_length: the image's type is not known from its URL; set image_type"
    ]
    assert (
        parsed.post is not None
        and b"<enclosure"
        not in xml_feeds(site, Feed("all", "S", "S", site.url, (parsed.post,)), ["rss"])["rss"]
    )


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))


@settings(max_examples=300, deadline=None)
@given(st.datetimes(timezones=offsets))
def test_the_rss_date_is_feedgens(when: datetime) -> None:
    from feedgen.util import formatRFC2822

    from feeds.entry import rfc822

    assert rfc822(when) == formatRFC2822(when)
