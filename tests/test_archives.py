"""The back catalogue (RFC 5005, Feed Paging and Archiving): a reader that follows
``prev-archive`` from the feed it subscribes to gets every post, and an archive document
never changes its entries once it is written.

The bundled ten posts with ``feeds.items = 3``: the site feed holds the newest three and
links to archive documents of three posts each, the oldest first; the one left over is
only in the subscription feed.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from press.config import load_config
from press.publish import publish

NOW = datetime(2026, 1, 1, tzinfo=UTC)
URL = "https://chinabystander.com/"
HISTORY = b'xmlns:fh="http://purl.org/syndication/history/1.0"'


def small_feeds(project: Path, items: int = 3) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("items = 50", f"items = {items}", 1))


def run(project: Path) -> list[str]:
    result = publish(load_config(project / "press.toml"), NOW)
    return result.report.written


def local(project: Path, url: str) -> Path:
    assert url.startswith(URL), url
    return project / "public" / url.removeprefix(URL)


def links(parsed: Any) -> dict[str, str]:
    return {link.rel: link.href for link in parsed.feed.get("links", [])}


def walk(project: Path, kind: str) -> list[tuple[Path, Any]]:
    """The documents from the subscription feed back to the first archive."""
    path = project / "public" / "feeds" / f"all.{kind}.xml"
    documents = []
    while True:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        documents.append((path, parsed))
        older = links(parsed).get("prev-archive")
        if older is None:
            return documents
        path = local(project, older)


@pytest.fixture
def archived(project: Path) -> Path:
    small_feeds(project)
    run(project)
    return project


@pytest.mark.parametrize("kind", ["atom", "rss"])
def test_the_archive_chain_gives_every_post_once(archived: Path, kind: str) -> None:
    documents = walk(archived, kind)
    current, archives = documents[0], documents[1:]
    assert [path.name for path, _ in archives] == [f"{n}.{kind}.xml" for n in (3, 2, 1)]
    seen = [entry.id for _, parsed in archives for entry in parsed.entries]
    assert len(seen) == len(set(seen)) == 9  # three complete documents of three
    newest = [entry.id for entry in current[1].entries]
    assert len(newest) == 3
    every = set(seen) | set(newest)
    assert len(every) == 10  # with the subscription feed: every post, the one left over too
    for path, parsed in archives:
        raw = path.read_bytes()
        assert HISTORY in raw and b"<fh:archive/>" in raw, path
        assert links(parsed)["current"] == URL + f"feeds/all.{kind}.xml"
        assert len(parsed.entries) == 3
    assert b"fh:archive" not in current[0].read_bytes()  # the subscription feed is no archive


def test_next_archive_goes_forward_to_the_newest(archived: Path) -> None:
    path = archived / "public" / "feeds" / "archive" / "all" / "1.atom.xml"
    names = []
    while True:
        parsed = feedparser.parse(path.read_bytes())
        names.append(path.name)
        assert ("prev-archive" in links(parsed)) == (path.name != "1.atom.xml")
        newer = links(parsed).get("next-archive")
        if newer is None:
            break
        path = local(archived, newer)
    assert names == ["1.atom.xml", "2.atom.xml", "3.atom.xml"]
    folder = archived / "public" / "feeds" / "archive" / "all"
    dates = [[e.published_parsed for e in feedparser.parse((folder / n).read_bytes()).entries]
             for n in names]  # fmt: skip
    assert max(dates[0]) < min(dates[1]) and max(dates[1]) < min(dates[2])  # oldest first


def test_category_feeds_have_archives_too(archived: Path) -> None:
    folder = archived / "public" / "feeds" / "archive" / "category"
    assert (folder / "china-russia" / "1.atom.xml").is_file()
    china_russia = json.loads((archived / "public/feeds/category/china-russia.json").read_text())
    chain = [china_russia]
    while "next_url" in chain[-1]:  # JSON Feed pages: next_url goes to older posts
        chain.append(json.loads(local(archived, chain[-1]["next_url"]).read_text()))
    assert len(chain) > 1
    for page in chain:
        assert page["feed_url"] == URL + "feeds/category/china-russia.json"
        assert "hubs" not in page or page is chain[0]
    ids = [item["id"] for page in chain[1:] for item in page["items"]]
    assert len(ids) == len(set(ids))


def post(project: Path, day: int) -> None:
    text = (
        f"---\ntitle: Added on the {day}th\ndate: 2025-06-{day:02}T09:00:00Z\n"
        "categories: [China-Russia]\n---\nA new post.\n"
    )
    (project / "posts" / f"2025-06-{day:02}-added.md").write_text(text)


def archive_bytes(project: Path) -> dict[str, bytes]:
    folder = project / "public" / "feeds" / "archive"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def without_digests(documents: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in documents.items() if not name.startswith("newsletter/")}


def test_new_posts_leave_the_archive_documents_as_they_are(archived: Path) -> None:
    """Ten posts: three archive documents of three, one left over. The 11th touches no
    archive document; the 12th completes a fourth, and the third gains its next-archive
    link (its entries stay); the first two stay byte for byte."""
    before = archive_bytes(archived)
    post(archived, 10)
    written = run(archived)
    assert not [name for name in written if name.startswith("feeds/archive/all/")]
    # 11 posts: still three of three. (The digests' feed has its own archive documents:
    # the new post's week is a new digest, so they move on as the site's do for posts.)
    assert without_digests(archive_bytes(archived)) == without_digests(before)
    assert "feeds/all.atom.xml" in written
    post(archived, 11)
    written = run(archived)  # 12 posts: a fourth document of three
    changed = {n.removeprefix("feeds/archive/") for n in written if "archive/all/" in n}
    # The third's JSON Feed page links only to older pages (next_url): it stays too.
    assert changed == {"all/3.atom.xml", "all/3.rss.xml", "all/4.atom.xml", "all/4.rss.xml",
                       "all/4.json"}  # fmt: skip
    after = archive_bytes(archived)
    changed_before = {name for name in before if after[name] != before[name]}
    assert {name for name in changed_before if name.startswith("all/")} == {
        "all/3.atom.xml", "all/3.rss.xml"}  # fmt: skip
    third = feedparser.parse(after["all/3.atom.xml"])
    assert links(third)["next-archive"] == URL + "feeds/archive/all/4.atom.xml"
    old_third = feedparser.parse(before["all/3.atom.xml"])
    assert [e.id for e in third.entries] == [e.id for e in old_third.entries]


def test_no_archives_while_the_feed_holds_every_post(project: Path) -> None:
    run(project)  # ten posts, 50 a feed
    assert not (project / "public" / "feeds" / "archive").exists()
    assert b"prev-archive" not in (project / "public" / "feeds" / "all.atom.xml").read_bytes()


def test_archives_can_be_turned_off(project: Path) -> None:
    small_feeds(project)
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("[feeds]", "[feeds]\narchives = false", 1))
    run(project)
    assert not (project / "public" / "feeds" / "archive").exists()


def test_golden_archive_document(archived: Path, golden: Any) -> None:
    folder = archived / "public" / "feeds" / "archive" / "all"
    golden("feeds/archive-all-2.atom.xml", (folder / "2.atom.xml").read_bytes())
    golden("feeds/archive-all-2.rss.xml", (folder / "2.rss.xml").read_bytes())
    golden("feeds/archive-all-2.json", (folder / "2.json").read_bytes())


def test_same_archive_bytes_on_another_machine_and_another_day(
    archived: Path, tmp_path: Path
) -> None:
    other = tmp_path / "elsewhere"
    shutil.copytree(archived / "posts", other / "posts")
    shutil.copytree(archived / "templates", other / "templates")
    shutil.copy(archived / "press.toml", other / "press.toml")
    publish(load_config(other / "press.toml"), datetime(2030, 6, 1, tzinfo=UTC))
    assert archive_bytes(other) == archive_bytes(archived)
    assert run(archived) == []  # and publishing again writes nothing
