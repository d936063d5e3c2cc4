"""Comments: the WordPress importer brings the approved ones (names, dates, text; never an
email or IP address) into a file beside the post, press shows them threaded under the
post at #comments and counts them, and every comment link leads somewhere."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from feeds.comments import parse_comments
from feeds.model import Comment, Site
from feeds.pages import comment_thread
from feeds.posts import parse_post
from press.config import load_config
from press.publish import PublishResult, publish
from press.wordpress import import_wordpress
from tests.conftest import LONDON

FIXTURE = Path(__file__).parent / "data" / "wordpress.xml"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
POST = "2022-09-16-big-brother"


@pytest.fixture
def moved(project: Path) -> Path:
    for post in (project / "posts").iterdir():
        post.unlink()
    import_wordpress(FIXTURE, project / "posts", project / "var", LONDON)
    return project


def run(project: Path) -> PublishResult:
    return publish(load_config(project / "press.toml"), NOW)


def page(project: Path) -> str:
    return (project / "public/2022/09/16/big-brother/index.html").read_text()


def test_the_import_keeps_names_dates_and_text_never_addresses(moved: Path) -> None:
    text = (moved / "posts" / f"{POST}.comments.yaml").read_text()
    everything = "".join(p.read_text() for p in (moved / "posts").iterdir())
    assert "mei@example.com" not in everything and "203.0.113.7" not in everything
    assert "me@chinabystander.com" not in everything
    assert "as the Bystander says" not in everything  # a pingback is no comment
    assert "Buy now" not in everything and "Pending" not in everything  # spam, unapproved
    assert "author: Mei Lin" in text and "url: https://mei.example/" in text
    assert "[a source](https://example.com/source)" in text
    assert "comments:" not in (moved / "posts" / f"{POST}.md").read_text()  # the file counts


def test_the_page_shows_them_threaded_with_a_way_to_reply(moved: Path) -> None:
    run(moved)
    html = page(moved)
    section = html[html.index('<section id="comments"') :]
    assert '<h2 id="comments-heading">2 Comments</h2>' in section
    mei = section.index('<a href="https://mei.example/" rel="nofollow ugc">Mei Lin</a>')
    reply = section.index("The Bystander</strong>")
    assert mei < reply and section[mei:reply].count('<ol class="thread">') == 1  # nested
    assert '<a href="https://example.com/source">a source</a>' in section
    assert 'datetime="2022-09-16T11:00:00+01:00">16 September 2022</time>' in section
    assert re.search(r'<a href="mailto:digest@chinabystander.com\?subject=Re%3A%20China', section)


def test_the_file_is_the_count_and_an_edit_shows_at_once(moved: Path) -> None:
    run(moved)
    feed = feedparser.parse((moved / "public/feeds/all.rss.xml").read_bytes())
    big = next(e for e in feed.entries if "big-brother" in e.link)
    assert big.slash_comments == "2"
    path = moved / "posts" / f"{POST}.comments.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("- id: '2'")])  # the reply deleted by hand
    result = run(moved)
    assert "2022/09/16/big-brother/index.html" in result.report.written
    assert '<h2 id="comments-heading">1 Comment</h2>' in page(moved)
    feed = feedparser.parse((moved / "public/feeds/all.rss.xml").read_bytes())
    assert next(e for e in feed.entries if "big-brother" in e.link).slash_comments == "1"
    path.unlink()
    run(moved)
    assert '<h2 id="comments-heading">Leave a comment</h2>' in page(moved)


def test_a_bad_comments_file_is_a_warning_and_the_post_publishes(moved: Path) -> None:
    path = moved / "posts" / f"{POST}.comments.yaml"
    path.write_text("- author: A\n  date: 2022-09-16\n  text: Fine.\n- author: B\n  text: x\n")
    result = run(moved)
    [problem] = [p for p in result.loaded.problems if "comments.yaml" in p.path]
    assert str(problem) == (
        f"posts/{POST}.comments.yaml:4: warning: comment 2: date: missing (ISO 8601, like"
        " 2022-09-16T10:00:00+01:00); left out"
    )
    assert '<h2 id="comments-heading">1 Comment</h2>' in page(moved)
    path.write_text("- [unclosed\n")
    result = run(moved)
    assert any("not valid YAML" in str(p) for p in result.loaded.problems)
    assert "big-brother" in page(moved)


def test_comments_off_leaves_no_link_to_them(moved: Path) -> None:
    toml = moved / "press.toml"
    toml.write_text(toml.read_text() + '\n[pages]\ncomments = "off"\n')
    run(moved)
    public = moved / "public"
    for path in public.rglob("*"):
        if path.suffix in (".html", ".xml", ".json"):
            assert "#comments" not in path.read_text(), path
    assert "slash:comments" not in (public / "feeds/all.rss.xml").read_text()
    assert "mailto:" not in page(moved)
    assert "Mei Lin" in page(moved)  # the comments there are still shown
    document = json.loads((public / "feeds/all.json").read_text())
    assert all("comments" not in item["_press"] for item in document["items"])


def test_no_pages_no_comment_links(moved: Path) -> None:
    toml = moved / "press.toml"
    toml.write_text(toml.read_text() + "\n[pages]\nenabled = false\n")
    run(moved)
    assert "#comments" not in (moved / "public/feeds/all.atom.xml").read_text()


def test_a_reimport_leaves_edited_comments_alone(moved: Path) -> None:
    path = moved / "posts" / f"{POST}.comments.yaml"
    path.write_text(path.read_text().replace("Good.", "Good (edited)."))
    report = import_wordpress(FIXTURE, moved / "posts", moved / "var", LONDON)
    assert report.left_alone == [f"{POST}.comments.yaml"]
    assert "Good (edited)." in path.read_text()


def comment(id: str, parent: str = "", minute: int = 0) -> Comment:
    return Comment(id, f"A{id}", datetime(2022, 9, 16, 9, minute, tzinfo=UTC), f"t{id}", parent)


def test_no_comment_is_lost_to_a_missing_parent_or_a_loop(site: Site) -> None:
    post = parse_post("p.md", b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\n---\nB", site)
    from dataclasses import replace

    thread = (comment("1"), comment("2", "1", 1), comment("3", "9", 2), comment("4", "5", 3),
              comment("5", "4", 4))  # fmt: skip
    tree = comment_thread(site, replace(post, thread=thread))

    def ids(nodes: list[dict]) -> list[object]:  # type: ignore[type-arg]
        return [(n["id"], ids(n["replies"])) for n in nodes]

    assert ids(tree) == [("1", [("2", [])]), ("3", []), ("4", [("5", [])])]


def test_comment_files_are_read_as_written(site: Site) -> None:
    data = (
        "- id: 7\n  author: '<b>Jo</b>'\n  url: javascript:alert(1)\n"
        "  date: 2022-09-16T10:00:00+01:00\n  text: Hi\n- author: K\n  date: 2022-09-15\n"
        "  text: Earlier\n  colour: red\n"
    )
    comments, problems = parse_comments("c.yaml", data.encode(), site)
    assert [(c.id, c.author, c.url) for c in comments] == [("7", "Jo", "")]
    assert [str(p) for p in problems] == [
        "c.yaml:6: warning: comment 2: unknown key 'colour'; left out"
    ]


def test_golden_page_with_comments(moved: Path, golden: Any) -> None:
    run(moved)
    golden("pages/comments-big-brother.html", page(moved).encode())
