"""Loading posts: the model, slugs, summaries, sanitising and every kind of bad input."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.errors import PostError, Problem
from feeds.model import Site
from feeds.posts import parse_post, parse_posts
from feeds.select import by_category, next_due, published
from feeds.text import fold_space, slugify
from tests.conftest import LONDON
from tests.htmlcheck import unsafe_markup

GOOD = """---
title: A Good Post
date: 2022-09-16T09:00:00+01:00
categories: [China-Russia, Trade]
---
FIRST PARAGRAPH with *emphasis* and a [link](/about/).

Second paragraph.
"""


def post_text(front: str, body: str = "Some text.\n") -> bytes:
    return f"---\n{front}\n---\n{body}".encode()


def test_a_good_post(site: Site) -> None:
    post = parse_post("posts/good.md", GOOD.encode(), site)
    assert post.title == "A Good Post"
    assert post.slug == "a-good-post"
    assert post.date == datetime(2022, 9, 16, 8, 0, tzinfo=UTC)
    assert [c.slug for c in post.categories] == ["china-russia", "trade"]
    assert post.summary == "FIRST PARAGRAPH with emphasis and a link."
    assert post.author == "The Bystander"
    assert post.comments == 0 and post.draft is False
    # Relative links are made absolute against the post's permalink.
    assert 'href="https://chinabystander.com/about/"' in post.html


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("China-U.S.", "china-us"),
        ("Financial Services", "financial-services"),
        ("China-E.U.", "china-eu"),
        ("China-Central Asia", "china-central-asia"),
        ("Russia’s Fulsomeness", "russias-fulsomeness"),
        ("Café  Société -- déjà vu", "cafe-societe-deja-vu"),
    ],
)
def test_slugs(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_date_without_zone_is_read_in_the_site_zone(site: Site) -> None:
    winter = parse_post(
        "p.md", post_text("title: T\ndate: 2022-02-05 09:00\ncategories: [A]"), site
    )
    summer = parse_post(
        "p.md", post_text("title: T\ndate: 2022-09-16 09:00\ncategories: [A]"), site
    )
    bare = parse_post("p.md", post_text("title: T\ndate: 2022-09-16\ncategories: [A]"), site)
    assert winter.date.utcoffset() == timedelta(0)
    assert summer.date.utcoffset() == timedelta(hours=1)
    assert bare.date == datetime(2022, 9, 16, tzinfo=LONDON)


def test_optional_fields(site: Site) -> None:
    front = (
        "title: Titled\ndate: 2022-09-16T09:00:00Z\ncategories: China-Russia\n"
        "slug: custom-slug\nsummary: A <b>summary</b> &amp; more\nupdated: 2022-09-17T10:00:00Z\n"
        "author: Someone Else\nimage: https://example.com/a.jpg\ncaption: A caption\n"
        "credit: Xinhua\ncomments: 5\ndraft: true\nguid: urn:old:1\ntags: [x, y]"
    )
    post = parse_post("p.md", post_text(front), site)
    assert post.slug == "custom-slug"
    assert post.summary == "A summary & more"
    assert post.updated == datetime(2022, 9, 17, 10, tzinfo=UTC)
    assert post.modified == post.updated
    assert (post.author, post.image, post.caption, post.credit) == (
        "Someone Else",
        "https://example.com/a.jpg",
        "A caption",
        "Xinhua",
    )
    assert (post.comments, post.draft, post.guid, post.tags) == (5, True, "urn:old:1", ("x", "y"))
    assert [c.name for c in post.categories] == ["China-Russia"]


def test_yaml_spelling_is_kept_for_text(site: Site) -> None:
    post = parse_post("p.md", post_text("title: No\ndate: 2022-09-16\ncategories: [1.10]"), site)
    assert post.title == "No"
    assert post.categories[0].name == "1.10"


@pytest.mark.parametrize(
    ("data", "line", "reason"),
    [
        (b"", None, "the file is empty"),
        (b"   \n\n", None, "the file is empty"),
        (b"no front matter here\n", 1, "no front matter"),
        (b"---\ntitle: T\n", 1, "no closing '---'"),
        (b"---\ntitle: T\ndate: [unclosed\ncategories: [A]\n---\nx", 4, "not valid YAML"),
        (b"---\ntitle: T\n  bad: indent\n---\nx", 3, "not valid YAML"),
        (b"---\n- a list\n---\nx", 2, "'key: value' lines"),
        (b"---\ndate: 2022-09-16\ncategories: [A]\n---\nx", 1, "title: required"),
        (b"---\ntitle: ''\ndate: 2022-09-16\ncategories: [A]\n---\nx", 1, "title: required"),
        (b"---\ntitle: <b></b>\ndate: 2022-09-16\ncategories: [A]\n---\nx", 2, "title: empty"),
        (b"---\ntitle: T\ncategories: [A]\n---\nx", 1, "date: required"),
        (b"---\ntitle: T\ndate: next tuesday\ncategories: [A]\n---\nx", 3, "date: not a date"),
        (b"---\ntitle: T\ndate: 2022-13-45\ncategories: [A]\n---\nx", 3, "date: not a date"),
        (b"---\ntitle: T\ndate: 2022-09-16\n---\nx", 1, "categories: required"),
        (b"---\ntitle: T\ndate: 2022-09-16\ncategories: []\n---\nx", 1, "categories: required"),
        (b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A, {b: c}]\n---\nx", 4, "each entry"),
        (b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\ncomments: many\n---\n", 5, "comments"),
        (b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\ndraft: maybe\n---\n", 5, "draft"),
        (b"---\ntitle: T\ntitle: U\ndate: 2022-09-16\ncategories: [A]\n---\n", 3, "given twice"),
        (b"---\ntitle: [T]\ndate: 2022-09-16\ncategories: [A]\n---\n", 2, "expected text"),
        (b"---\ntitle: T\ndate: 2022-09-16\ncategories: [A]\n---\n\xff\xfe", 6, "not UTF-8"),
        (
            b"---\ntitle: !!python/object:os.system x\ndate: 2022-09-16\ncategories: [A]\n---\n",
            2,
            "YAML",
        ),
    ],
)
def test_bad_input_names_file_line_and_reason(
    site: Site, data: bytes, line: int | None, reason: str
) -> None:
    with pytest.raises(PostError) as caught:
        parse_post("posts/bad.md", data, site)
    problem = caught.value.problem
    assert problem.path == "posts/bad.md"
    assert problem.line == line
    assert reason in problem.message
    assert str(problem).startswith(f"posts/bad.md:{line}: " if line else "posts/bad.md: ")


def test_one_bad_post_never_stops_the_others(site: Site) -> None:
    sources = [
        ("posts/a.md", GOOD.encode()),
        ("posts/b.md", b"---\ntitle: B\ndate: soon\ncategories: [A]\n---\nx"),
        ("posts/c.md", GOOD.replace("A Good Post", "Another").encode()),
        ("posts/d.md", b"\xff\xfe not utf-8"),
    ]
    loaded = parse_posts(sources, site)
    assert [p.source for p in loaded.posts] == ["posts/c.md", "posts/a.md"]
    assert loaded.failed == ("posts/b.md", "posts/d.md")


def test_two_posts_with_one_slug(site: Site) -> None:
    other = GOOD.replace("2022-09-16T09", "2022-09-17T09")
    loaded = parse_posts([("posts/b.md", other.encode()), ("posts/a.md", GOOD.encode())], site)
    assert [p.source for p in loaded.posts] == ["posts/a.md"]
    [problem] = loaded.errors
    assert problem.path == "posts/b.md"
    assert "slug 'a-good-post' is already used by posts/a.md" in problem.message


def test_unknown_key_is_a_warning_with_a_hint(site: Site) -> None:
    data = GOOD.replace("categories:", "catgories: [x]\ncategories:").encode()
    loaded = parse_posts([("posts/a.md", data)], site)
    assert len(loaded.posts) == 1
    [warning] = loaded.warnings
    assert warning.line == 4
    assert "unknown front-matter key 'catgories'" in warning.message
    assert "did you mean 'categories'" in warning.message
    assert str(warning).startswith("posts/a.md:4: warning: ")


def test_crlf_and_bom_are_accepted(site: Site) -> None:
    data = b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode()
    assert parse_post("p.md", data, site).title == "A Good Post"


@pytest.mark.parametrize(
    "written",
    [
        "2022-09-16",
        "2022-09-16T09:00:00Z",
        "2022-09-16 09:00:00+01:00",
        "2022-09-16T09:00:00.5-05:30",
        "2022-09-16T09:00:00.123456789Z",
        "2001-12-14 21:59:43.10 -5",  # YAML's own form: read by YAML
        "2022-09-16   09:00:00Z",
    ],
)
def test_dates_read_as_yaml_reads_them(site: Site, written: str) -> None:
    # Timestamps take a quicker way than YAML's constructor; the result must not differ.
    value = yaml.safe_load(f"d: {written}")["d"]
    if isinstance(value, datetime):
        expected = value if value.tzinfo else value.replace(tzinfo=site.timezone)
    else:
        expected = datetime.combine(value, datetime.min.time(), tzinfo=site.timezone)
    post = parse_post("p.md", post_text(f"title: T\ndate: {written}\ncategories: [A]"), site)
    assert post.date == expected and post.date.utcoffset() == expected.utcoffset()


def test_control_characters_go_from_ascii_and_other_files_alike(site: Site) -> None:
    # ASCII files take a faster way through decoding; both ways drop the same characters.
    front = "title: 'A\x1bB\r\nC'\r\ndate: 2022-09-16\r\ncategories: [A]"
    ascii = parse_post("a.md", post_text(front, "x\x00y\x7fz\r\n\x0c"), site)
    other = parse_post("b.md", post_text(front, "x\x00y\x7fz\r\n\x0c\u00e9"), site)
    assert ascii.title == other.title == "AB C"
    assert ascii.body == "xyz\n" and other.body == "xyz\n\u00e9\n"


def test_drafts_and_future_posts_are_not_published(site: Site) -> None:
    def make(slug: str, day: int, draft: bool = False) -> bytes:
        extra = "\ndraft: true" if draft else ""
        return post_text(f"title: {slug}\ndate: 2022-09-{day:02}T09:00:00Z\ncategories: [A]{extra}")

    loaded = parse_posts(
        [("a.md", make("old", 1)), ("b.md", make("draft", 2, True)), ("c.md", make("new", 20))],
        site,
    )
    now = datetime(2022, 9, 10, tzinfo=UTC)
    assert [p.slug for p in published(loaded.posts, now)] == ["old"]
    assert next_due(loaded.posts, now) == datetime(2022, 9, 20, 9, tzinfo=UTC)
    later = datetime(2022, 9, 20, 9, tzinfo=UTC)
    assert [p.slug for p in published(loaded.posts, later)] == ["new", "old"]
    assert next_due(loaded.posts, later) is None


def test_categories_that_share_a_slug_are_one(site: Site) -> None:
    a = post_text("title: A\ndate: 2022-09-01\ncategories: [China-U.S.]")
    b = post_text("title: B\ndate: 2022-09-02\ncategories: [China-US, Trade]")
    loaded = parse_posts([("a.md", a), ("b.md", b)], site)
    groups = by_category(loaded.posts)
    assert [(c.name, [p.slug for p in ps]) for c, ps in groups.items()] == [
        ("China-US", ["b", "a"]),
        ("Trade", ["b"]),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>Hello",
        '<img src="x.png" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        "<iframe src='https://evil.example'></iframe>",
        '<p style="background:url(javascript:alert(1))" onclick="x()">styled</p>',
        "<svg><script>alert(1)</script></svg>",
    ],
)
def test_html_is_sanitised(site: Site, body: str) -> None:
    post = parse_post("p.md", post_text("title: T\ndate: 2022-09-16\ncategories: [A]", body), site)
    assert unsafe_markup(post.html) == []
    assert "alert(1)</script>" not in post.html


unsafe_fragments = st.sampled_from(
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "<a href='javascript:void(0)'>a</a>",
        "&",
        "<",
        ">",
        '"',
        "\x00",
        "\x1b",
        "\u202e",
        "\ufffe",
    ]
)
any_text = st.lists(st.one_of(st.text(), unsafe_fragments), max_size=6).map("".join)


@settings(max_examples=150, deadline=None)
@given(title=any_text, body=any_text)
def test_any_title_and_body_load_safely(title: str, body: str) -> None:
    site = Site("S", "https://example.com", "A", "en", LONDON)
    quoted = json.dumps(title, ensure_ascii=False)
    front = f"title: {quoted}\ndate: 2022-09-16T09:00:00Z\ncategories: [A]"
    try:
        post = parse_post("p.md", post_text(front, body), site)
    except PostError as error:
        # The only refusals allowed: a title with no text, or no slug to make from it.
        assert error.problem.message.startswith(("title:", "slug:"))
        return
    assert post.title and not re.search(r"<[^>]*>", post.title)
    if not any(c in title for c in "<>&"):
        # The words survive; only control, bidi and invisible characters go, and runs
        # of space fold.
        assert post.title.split() == fold_space(title).split()
    assert unsafe_markup(post.html) == []
    assert "\x00" not in post.html + post.title + post.summary


def test_the_unsafe_markup_finder_finds() -> None:
    raw = '<p onclick="x()"><a href=" JavaScript:y()">a</a><script>z()</script></p>'
    assert unsafe_markup(raw) == ["p@onclick", "a@href= JavaScript:y()", "<script>"]
    assert unsafe_markup("<p>onerror javascript: &lt;script&gt;</p>") == []


def test_counts_in_messages_agree_with_their_number() -> None:
    from feeds.counts import counted

    assert [counted(n, "post") for n in (0, 1, 2, 1416)] == [
        "0 posts", "1 post", "2 posts", "1,416 posts",
    ]  # fmt: skip
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"


def test_bidi_and_invisible_characters_leave_titles_names_and_summaries(site: Site) -> None:
    text = (
        '---\ntitle: "Invoice \u202egpj.exe \u200bnow"\ndate: 2022-09-16T09:00:00+01:00\n'
        'categories: [China-Russia]\nauthor: "Ann\u2066 Lee\u2069"\n'
        'summary: "Brief\u200f \ufeffsummary"\n---\nBODY \u202e kept.\n'
    )
    post = parse_post("posts/x.md", text.encode(), site)
    assert post.title == "Invoice gpj.exe now"
    assert post.author == "Ann Lee" and post.summary == "Brief summary"
    assert "\u202e" in post.markdown  # the Markdown is the author's own, as written
    assert "\u202e" not in post.html  # the override does not reach what readers see
    persian_text = text.replace("Invoice \u202egpj.exe \u200bnow", "می\u200cخواهم")
    persian_text = persian_text.replace("categories:", "slug: persian\ncategories:")
    persian = parse_post("posts/y.md", persian_text.encode(), site)
    assert persian.title == "می\u200cخواهم"  # the joiner is part of the spelling


@pytest.mark.parametrize(
    ("written", "read", "warning"),
    [
        ("1800-01-01T09:00:00", "1800-01-01T09:01:15+00:00", "local mean time"),
        ("2022-03-27T01:30:00", "2022-03-27T01:30:00+00:00", "which is 02:30 BST"),
        ("2022-10-30T01:30:00", "2022-10-30T01:30:00+01:00", "happens twice in Europe/London"),
        ("2022-09-16T09:00:00+01:00:30", "2022-09-16T07:59:30+00:00", "offset of seconds"),
        ("2022-09-16T09:00:00", "2022-09-16T09:00:00+01:00", None),
    ],
)
def test_a_time_the_zone_cannot_write_plainly_is_read_one_way_and_said(
    site: Site, written: str, read: str, warning: str | None
) -> None:
    problems: list[Problem] = []
    front = f"title: T\ndate: {written}\ncategories: [A]"
    post = parse_post("posts/t.md", post_text(front), site, warn=problems.append)
    assert post.date.isoformat() == read
    assert post.date.utcoffset().seconds % 60 == 0  # type: ignore[union-attr]
    messages = [p.message for p in problems]
    assert (warning is None and messages == []) or (warning and warning in messages[0])
