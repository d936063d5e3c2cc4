"""press import wordpress: a WXR file into posts/, without breaking anyone's feed."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from feeds.posts import parse_post
from press.config import load_config
from press.publish import publish
from press.wordpress import import_wordpress
from tests.conftest import LONDON

FIXTURE = Path(__file__).parent / "data" / "wordpress.xml"
BIG_BROTHER = "2022-09-16-big-brother.md"
UNTITLED = "2022-09-10-a-post-without-a-title.md"


@pytest.fixture
def site_dir(project: Path) -> Path:
    for post in (project / "posts").iterdir():
        post.unlink()
    return project


def run_import(project: Path, fixture: Path = FIXTURE):  # type: ignore[no-untyped-def]
    return import_wordpress(fixture, project / "posts", project / "var", LONDON)


def test_the_fixture_imports(site_dir: Path) -> None:
    report = run_import(site_dir)
    assert sorted(report.imported) == [
        UNTITLED, BIG_BROTHER, "2022-09-20-xis-plans-for-2030-draft.md",
        "2030-01-01-coming-next-year.md",
    ]  # fmt: skip
    assert report.drafts == 1
    assert report.skipped == {
        "attachment": 2, "page": 1, "nav_menu_item": 1, "revision": 1, "password-protected": 1,
    }  # fmt: skip
    assert report.problems == []
    assert report.warnings == [
        "item 2 (line 62): no title; titled 'A post without a title.'",  # as WordPress shows it
        "item 6 (line 114): 'Members Only' is password-protected; skipped",
    ]


def test_a_post_keeps_everything(site_dir: Path, site: object) -> None:
    run_import(site_dir)
    text = (site_dir / "posts" / BIG_BROTHER).read_text()
    post = parse_post("p.md", text.encode(), site)  # type: ignore[arg-type]
    assert post.title == "China Is Becoming The Big Brother – & Friends"  # entities decoded
    assert post.date == datetime(2022, 9, 16, 8, tzinfo=UTC)
    assert post.updated == datetime(2022, 9, 17, 10, tzinfo=UTC)
    assert post.slug == "big-brother"
    assert [c.name for c in post.categories] == ["China-Central Asia", "China-Russia"]  # nested
    assert post.tags == ("Xi Jinping",)
    assert post.author == "The Bystander"  # the display name, not the login
    from feeds.comments import parse_comments

    beside = (site_dir / "posts" / BIG_BROTHER.replace(".md", ".comments.yaml")).read_bytes()
    comments, problems = parse_comments("c.yaml", beside, site)  # type: ignore[arg-type]
    assert len(comments) == 2 and problems == []  # approved only: not spam, not pending
    assert post.guid == "https://chinabystander.wordpress.com/?p=101"
    assert post.image == "https://example.files/xi.jpg"  # the featured image
    assert post.caption == "Xi meets Putin in Samarkand."
    html = post.html
    assert '<a href="https://en.wikipedia.org/wiki/Samarkand">Samarkand</a>' in html
    assert "<figcaption>Xi meets Putin in Samarkand.</figcaption>" in html  # [caption]
    assert "<blockquote>" in html and "<li>energy</li>" in html
    assert 'href="https://www.youtube.com/watch?v=abc123"' in html  # an embed, kept as a link
    assert 'src="https://example.files/map.png"' in html  # [gallery]
    assert "[gallery" not in text and "[caption" not in text


def test_drafts_and_future_posts(site_dir: Path) -> None:
    run_import(site_dir)
    draft = (site_dir / "posts" / "2022-09-20-xis-plans-for-2030-draft.md").read_text()
    assert "draft: true" in draft and 'title: "Xi’s Plans For 2030 — Draft"' in draft
    future = (site_dir / "posts" / "2030-01-01-coming-next-year.md").read_text()
    assert "draft" not in future  # published when its time comes
    assert 'categories: ["Trade", "China-U.S."]' in future


def test_feed_ids_are_the_wordpress_guids(site_dir: Path) -> None:
    run_import(site_dir)
    publish(load_config(site_dir / "press.toml"), datetime(2026, 1, 1, tzinfo=UTC))
    feed = feedparser.parse((site_dir / "public/feeds/all.atom.xml").read_bytes())
    assert [e.id for e in feed.entries] == [
        "https://chinabystander.wordpress.com/?p=101",
        "https://chinabystander.wordpress.com/?p=102",
    ]


def test_a_reimport_changes_nothing(site_dir: Path) -> None:
    run_import(site_dir)
    before = {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (site_dir / "posts").iterdir()
    }
    report = run_import(site_dir)
    assert report.imported == [] and report.updated == [] and len(report.unchanged) == 4
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in (site_dir / "posts").iterdir()}
    assert after == before


def test_updates_in_place_and_leaves_edits_alone(site_dir: Path, tmp_path: Path) -> None:
    run_import(site_dir)
    edited = site_dir / "posts" / "2030-01-01-coming-next-year.md"
    edited.write_text(edited.read_text() + "\nMy own note.\n")
    changed = tmp_path / "changed.xml"
    changed.write_text(
        FIXTURE.read_text()
        .replace("met in <a", "met, at last, in <a")
        .replace("<![CDATA[Scheduled.]]>", "<![CDATA[Rescheduled.]]>")
    )
    report = run_import(site_dir, changed)
    assert report.updated == [BIG_BROTHER]
    assert report.left_alone == ["2030-01-01-coming-next-year.md"]
    assert "met, at last, in" in (site_dir / "posts" / BIG_BROTHER).read_text()
    assert "My own note." in edited.read_text()
    assert len(list((site_dir / "posts").glob("*.md"))) == 4  # never duplicated


def test_a_reimport_without_the_record_finds_posts_by_guid(site_dir: Path) -> None:
    run_import(site_dir)
    (site_dir / "var" / "import-wordpress.json").unlink()
    report = run_import(site_dir)
    assert len(report.unchanged) == 4 and report.imported == []


def test_https_namespaces_and_older_versions(site_dir: Path, tmp_path: Path) -> None:
    newer = tmp_path / "https.xml"
    newer.write_text(
        FIXTURE.read_text().replace(
            "http://wordpress.org/export/1.2/", "https://wordpress.org/export/1.1/"
        )
    )
    report = run_import(site_dir, newer)
    assert len(report.imported) == 4


def test_not_a_wordpress_export(site_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "feed.xml"
    other.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        "<item><title>x</title></item></channel></rss>"
    )
    report = run_import(site_dir, other)
    assert report.imported == []
    assert report.problems == ["not a WordPress export (no wp:wxr_version before the items)"]


def test_truncated_xml_keeps_what_came_before(site_dir: Path, tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("<title>Coming Next Year</title>") + 40])
    report = run_import(site_dir, cut)
    assert sorted(report.imported) == [
        UNTITLED,
        BIG_BROTHER,
        "2022-09-20-xis-plans-for-2030-draft.md",
    ]
    assert any("the XML breaks off or is not valid" in p for p in report.problems)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty.xml: the file is empty (export again"),
        (b'<?xml version="1.0"?><rss><channel><item>', "empty.xml:1: "),
        (b"not xml at all", "empty.xml:1: the XML breaks off or is not valid: "),
    ],
)
def test_an_empty_or_broken_export_is_one_line_naming_the_file(
    site_dir: Path, content: bytes, message: str
) -> None:
    export = site_dir / "empty.xml"
    export.write_bytes(content)
    press = Path(sys.executable).parent / "press"
    result = subprocess.run(
        [str(press), "import", "wordpress", "empty.xml"], cwd=site_dir, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(message) and line.count("empty.xml") == 1, line


def test_the_cli(site_dir: Path) -> None:
    press = Path(sys.executable).parent / "press"
    result = subprocess.run(
        [str(press), "import", "wordpress", str(FIXTURE)],
        cwd=site_dir,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0  # warnings only
    assert "item 2 (line 62): no title; titled 'A post without a title.'" in result.stderr
    assert result.stdout.startswith("imported 4 (1 draft), updated 0, unchanged 0, left alone 0")
    assert "1 password-protected" in result.stdout


BIG_ITEM = """<item><title>Page {n}</title><wp:post_id>{n}</wp:post_id>
<content:encoded><![CDATA[{body}]]></content:encoded>
<wp:post_type>page</wp:post_type><wp:status>publish</wp:status></item>
"""


@pytest.mark.slow
def test_a_huge_export_streams(tmp_path: Path) -> None:
    head, tail = FIXTURE.read_text().split("<item>", 1)
    big = tmp_path / "big.xml"
    body = "Lorem ipsum dolor sit amet. " * 40
    with big.open("w") as out:
        out.write(head)
        for n in range(50_000):
            out.write(BIG_ITEM.format(n=n + 1000, body=body))
        out.write("<item>" + tail)
    assert big.stat().st_size > 50_000_000
    code = (
        "import resource, sys; from pathlib import Path; from zoneinfo import ZoneInfo;"
        "from press.wordpress import import_wordpress;"
        f"r = import_wordpress(Path({str(big)!r}), Path({str(tmp_path / 'posts')!r}),"
        f" Path({str(tmp_path / 'var')!r}), ZoneInfo('UTC'));"
        # VmHWM, not ru_maxrss: Linux carries a forked parent's peak across exec into
        # ru_maxrss, so a child of a big pytest would seem big itself.
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0];"
        "peak = int(hwm.split()[1]) // 1024;"
        "print(r.skipped['page'], len(r.imported), peak)"
    )
    (tmp_path / "posts").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ}
    )
    pages, imported, peak_mb = (int(x) for x in result.stdout.split())
    print(f"50,000 items, {big.stat().st_size // 1_000_000} MB: peak {peak_mb} MB")
    assert (pages, imported) == (50_001, 4)
    assert peak_mb < 100  # a DOM of the whole file would take several times the file
