"""Any value for any front-matter key: the post loads or is reported by path and line,
and every feed written from what loads is well-formed, parses clean, and has valid ids
and absolute URLs."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import feedparser
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from feeds.build import Feed, xml_feeds
from feeds.errors import PostError, Problem
from feeds.jsonfeed import json_feed
from feeds.model import Site
from feeds.posts import parse_post
from tests.conftest import LONDON

SITE = Site("S", "https://example.com", "A", "en", LONDON)
tricky = st.sampled_from(
    ["", " ", "\u202e", "\x00", "<b>x</b>", "&", '"', "javascript:alert(1)", "/p.jpg",
     "data:,x", "12345", "1800-01-01T09:00:00", "2022-03-27T01:30:00", "2022-10-30T01:30",
     "2022-09-16", "not a date", "true", "-1", "7", "é", "\t", "https://x.example/a b"]
)  # fmt: skip
text = st.one_of(tricky, st.text(max_size=20))
value = st.one_of(
    text,
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.lists(text, max_size=3),
    st.dates().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
)
KEYS = [
    "title", "date", "categories", "slug", "summary", "updated", "author", "image",
    "caption", "credit", "comments", "draft", "guid", "tags",
]  # fmt: skip
IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=st.dictionaries(st.sampled_from(KEYS), value, max_size=8))
def test_any_front_matter_loads_or_is_reported_and_the_feeds_stay_valid(
    fields: dict[str, Any],
) -> None:
    front = {"title": "A title", "date": "2022-09-16T09:00:00Z", "categories": ["A"], **fields}
    data = "---\n" + yaml.safe_dump(front, allow_unicode=True) + "---\nBody text.\n"
    problems: list[Problem] = []
    try:
        post = parse_post("posts/p.md", data.encode(), SITE, warn=problems.append)
    except PostError as error:
        assert error.problem.path == "posts/p.md"
        assert error.problem.message.split(":")[0] in [*KEYS, "the file is empty"], error
        return
    for problem in problems:
        assert problem.path == "posts/p.md" and problem.severity == "warning"
    assert post.date.utcoffset() is not None and post.date.utcoffset().seconds % 60 == 0  # type: ignore[union-attr]
    feed = Feed("all", "S", "d", "https://example.com/", (post,))
    files = xml_feeds(SITE, feed, ("atom", "rss"))
    for kind, raw in files.items():
        root = etree.fromstring(raw)  # lxml's default parser
        parsed = feedparser.parse(raw)
        assert not parsed.bozo, (kind, parsed.get("bozo_exception"))
        if kind == "atom":
            ids = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}id")]
            assert all(i and IRI.match(i) for i in ids), ids
    document = json.loads(json_feed(SITE, feed))
    item = document["items"][0]
    assert IRI.match(item["id"]) and _absolute(item["url"])
    if post.image:
        assert _absolute(post.image) and '"' not in post.image and " " not in post.image
        assert item["image"] == post.image
    assert all(not c.isspace() for c in item["id"])
