"""The bundled posts are faithful to the blog's China-Russia archive (tests/data)."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from feeds.model import Post
from press.config import load_config
from press.content import load_posts

ROOT = Path(__file__).resolve().parent.parent
ARCHIVE = Path(__file__).parent / "data" / "china-russia-archive.txt"

DATES = {
    "China Is Becoming The Big Brother In Its Friendship With Russia": "2022-09-16",
    "Russia’s Fulsomeness Discomforts Its Firm Friend China": "2022-09-13",
    "Xi and Putin To Meet In Samarkand": "2022-09-08",
    "China And Russia Fly Too Close For The Quad’s Comfort": "2022-05-24",
    "China-Russia Trade Slows In March": "2022-04-14",
    "The Longer The Ukraine Crisis, The More Of A Non-Player China Becomes": "2022-03-19",
    "US Reminds China It Is Still Taking Care Of Business": "2022-03-11",
    "China Will Help Russia Economically But On Its Own Terms": "2022-02-25",
    "Russia’s Ukraine Invasion Leaves China In A Quandry": "2022-02-24",
    "Russia And China Stand Close But Not Fully Shoulder To Shoulder": "2022-02-05",
}


class ArchivePost:
    """One post of the archive page, read from its plain text."""

    def __init__(self, blocks: list[str]) -> None:
        # WordPress puts a no-break space before a title's last word; it is not the text.
        self.title = blocks[0].replace("\xa0", " ")
        self.categories = blocks[-1].removeprefix("Filed under ").split(", ")
        match = re.fullmatch(r"(\d+) Comments?|Leave a comment", blocks[-2])
        assert match, blocks[-2]
        self.comments = int(match.group(1) or 0)
        # The stray "." line closing the Quandry post is not text.
        self.blocks = [b.removesuffix("\n.") for b in blocks[1:-2]]


def archive_posts() -> list[ArchivePost]:
    text = ARCHIVE.read_text(encoding="utf-8")
    blocks = [b.strip("\n") for b in re.split(r"\n\s*\n", text) if b.strip()]
    assert blocks.pop(0) == "Category Archives: China-Russia"
    posts, current = [], []
    for block in blocks:
        current.append(block)
        if block.startswith("Filed under "):
            posts.append(ArchivePost(current))
            current = []
    assert not current
    return posts


class _Blocks(HTMLParser):
    """The text of each paragraph and list item of some HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("p", "li"):
            self.blocks.append("")
            self._open = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li"):
            self._open = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self.blocks[-1] += data


def rendered_blocks(post: Post) -> list[str]:
    parser = _Blocks()
    parser.feed(post.html)
    return [" ".join(b.split()) for b in parser.blocks]


@pytest.fixture(scope="module")
def posts() -> dict[str, Post]:
    loaded = load_posts(load_config(ROOT / "press.toml"))
    assert loaded.problems == ()
    return {post.title: post for post in loaded.posts}


def test_the_ten_posts_load_with_the_archive_titles(posts: dict[str, Post]) -> None:
    assert sorted(posts) == sorted(DATES)
    assert [p.title for p in archive_posts()] == list(DATES)


@pytest.mark.parametrize("expected", archive_posts(), ids=lambda p: p.title[:40])
def test_post_matches_the_archive(posts: dict[str, Post], expected: ArchivePost) -> None:
    post = posts[expected.title]
    assert post.date == datetime.fromisoformat(f"{DATES[post.title]}T09:00").replace(
        tzinfo=post.date.tzinfo
    )
    assert post.date.utcoffset() == load_config(ROOT / "press.toml").site.timezone.utcoffset(
        post.date.replace(tzinfo=None)
    )
    assert [c.name for c in post.categories] == expected.categories
    assert post.comments == expected.comments

    blocks = list(expected.blocks)
    if post.caption:
        credit = f" Photo credit: {post.credit}" if post.credit else ""
        assert blocks.pop(0) == post.caption + credit
    else:
        assert post.credit is None
        assert blocks[0].split(" ")[0].isupper()  # the body opens in capitals

    # Every paragraph (each list item for the bulleted list) appears, in order.
    wanted = []
    for block in blocks:
        if block.lstrip().startswith("•"):
            wanted += [line.strip().removeprefix("• ") for line in block.split("\n")]
        else:
            wanted.append(" ".join(block.split()))
    assert rendered_blocks(post) == wanted


def test_captions_and_credits_as_filed(posts: dict[str, Post]) -> None:
    big_brother = posts["China Is Becoming The Big Brother In Its Friendship With Russia"]
    assert big_brother.credit == "Xinhua/Ju Peng"
    assert big_brother.caption is not None
    assert big_brother.caption.startswith("Chinese President Xi Jinping meets")
    quad = posts["China And Russia Fly Too Close For The Quad’s Comfort"]
    assert quad.caption is not None and quad.credit is None
    captioned = sorted(t for t, p in posts.items() if p.caption)
    assert len(captioned) == 5


def test_quotes_lists_and_notes_keep_their_form(posts: dict[str, Post]) -> None:
    assert (
        posts["Russia’s Fulsomeness Discomforts Its Firm Friend China"].html.count("<blockquote>")
        == 2
    )
    assert "<ul>" in posts["Russia And China Stand Close But Not Fully Shoulder To Shoulder"].html
    business = posts["US Reminds China It Is Still Taking Care Of Business"].html
    assert "<p><em>Update:</em> Reuters" in business
    assert "<p><em>Footnote:</em> Around 250" in business


def test_repeated_paragraph_is_kept(posts: dict[str, Post]) -> None:
    text = posts["China Will Help Russia Economically But On Its Own Terms"].html
    assert text.count("The two countries’ central banks agreed a three-year $24 billion") == 2
