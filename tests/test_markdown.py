"""Sanitising with one cleaner made once gives the bytes nh3.clean gives, whatever the
links: relative ones (resolved against the post's URL) and odd ones alike."""

from __future__ import annotations

import re

import nh3
import pyromark
from hypothesis import example, given, settings
from hypothesis import strategies as st

from feeds.markdown import (
    _ATTRIBUTES,
    _OPTIONS,
    _OVERRIDES,
    _TAGS,
    SUMMARY_LIMIT,
    render_markdown,
    sanitise_html,
    summarise_html,
)
from feeds.text import _SPACE, plain_text, shorten

BASE = "https://chinabystander.com/2022/09/16/a-post/"

urls = st.one_of(
    st.sampled_from([
        "https://example.com/a", "http://example.com:8080/b?c=d#e", "mailto:a@example.com",
        "x.html", "/img/x.jpg", "../up", "#notes", "", "//cdn.example/x", "?q=1",
        "https://", "http://[bad", " https://example.com/", "javascript:alert(1)",
        "data:text/html,x", "HTTPS://EXAMPLE.COM/", "https://exämple.com/", "ftp://f/x",
        "https://example.com/a b", 'https://example.com/"q', "tel:+44", "a:b",
    ]),
    st.text(alphabet="ab:/.#?%& ", max_size=12),
)  # fmt: skip


def expected(html: str) -> str:
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        link_rel=None,
        url_relative=("rewrite_with_base", BASE),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "img", "blockquote", "video"]), urls), max_size=4),
       st.text(max_size=30))  # fmt: skip
def test_the_shared_cleaner_gives_what_nh3_clean_gives(
    links: list[tuple[str, str]], text: str
) -> None:
    parts = []
    for tag, url in links:
        quoted = url.replace('"', "&quot;")
        if tag == "a":
            parts.append(f'<a href="{quoted}">{text}</a>')
        elif tag == "video":
            parts.append(f'<video poster="{quoted}"><source src="https://e.com/v"></video>')
        elif tag == "img":
            parts.append(f'<img src="{quoted}" alt="{text[:3]}">')
        else:
            parts.append(f'<blockquote cite="{quoted}">{text}</blockquote>')
    html = "<p>" + " ".join(parts) + text + "</p>"
    assert sanitise_html(html, BASE) == expected(html)


def test_markdown_links_are_resolved_against_the_post() -> None:
    html = render_markdown("[a](x.html) [b](https://example.com/) ![c](/img/c.jpg)", BASE)
    assert 'href="https://chinabystander.com/2022/09/16/a-post/x.html"' in html
    assert 'href="https://example.com/"' in html
    assert 'src="https://chinabystander.com/img/c.jpg"' in html


def test_text_that_looks_like_an_attribute_is_left_alone() -> None:
    html = '<p>write href="x.html" in <code>src="y"</code></p><a href="https://e.com/">e</a>'
    assert sanitise_html(html, BASE) == expected(html)


# Markdown as posts write it, the pieces a body is made of: without raw HTML, and with it.
_PIECES = st.sampled_from([
    "word", "Ünïcode 中文", " ", "\n", "\n\n", "  \n", "\t", '"', "'", "&", "&amp;", "&copy;",
    "&#0;", "&nbsp;", "\xa0", "\u200b", "\r\n", "\x0c", ">", "> ", "- ", "1. ", "3) ", "* ",
    "# ", "### ", "***", "---", "`", "```", "```python\n", "~~", "*", "_", "**", "\\", "|",
    "\n\n| a | b |\n|:--|--:|\n| 1 | 2 |\n", "\n\n| a |\n|---|\n| 1 |\n", "[", "]", "(",
    ")", "![", "[x]: https://e.com/r\n", "\n\n```python\ncode\n```\n", "[x]", " />",
    '[t](https://e.com/ "a>b")', "    indented", '"q" title', ' title="t"',
])  # fmt: skip
_RAW = st.sampled_from([
    "<", "<b>", "<script>x</script>", "<p>", "</p>", "<!-- c -->", "<https://auto.link/>",
    "<a@b.co>", "<img src=x.png>", '<a href="javascript:x">j</a>',
])  # fmt: skip
_LINKS = urls.map(lambda url: f"[link]({url})") | urls.map(lambda url: f"![img]({url})")
_TITLED = urls.map(lambda url: f'[t]({url} "a > b & \\"c\\"")')
plain_bodies = st.lists(_PIECES | _LINKS | _TITLED, max_size=24).map("".join)
markdown_bodies = plain_bodies | st.lists(_PIECES | _RAW | _LINKS, max_size=24).map("".join)


def cleaned(text: str, base_url: str | None) -> str:
    """What render_markdown gave before it let bodies past nh3: every body cleaned."""
    return sanitise_html(pyromark.html(text.translate(_OVERRIDES), options=_OPTIONS), base_url)


@settings(max_examples=1500, deadline=None)
@given(markdown_bodies, st.sampled_from([BASE, None]))
@example("| a | b |\n|:--|--:|\n| 1 | 2 |\n", BASE)  # each thing nh3 writes otherwise
@example("```python\ncode\n```\n", BASE)
@example("a\xa0b ![i](https://e.com/i.png) ***", BASE)
def test_a_body_let_past_nh3_is_what_nh3_would_have_made(text: str, base: str | None) -> None:
    assert render_markdown(text, base) == cleaned(text, base)


def test_a_plain_body_goes_past_nh3_and_an_unsafe_one_does_not() -> None:
    plain = 'He said "so" & left: [a](https://e.com/?a=1&b=2), *1 > 0*.\n\n- one\n- two\n'
    assert render_markdown(plain, BASE) == pyromark.html(plain, options=_OPTIONS)
    for unsafe in ("[x](javascript:alert(1))", "<script>x</script>y", "[r](../up)"):
        assert render_markdown(unsafe, BASE) != pyromark.html(unsafe, options=_OPTIONS)
    assert "javascript" not in render_markdown("[x](javascript:alert(1))", BASE)


def summary_by_removal(html: str) -> str:
    """The summary as first defined: the nested blocks removed, then the first paragraph."""
    nested = re.compile(r"<(blockquote|ul|ol|table|figure)\b.*?</\1>", re.DOTALL)
    match = re.compile(r"<p>(.*?)</p>", re.DOTALL).search(nested.sub("", html))
    return shorten(plain_text(match.group(1)), SUMMARY_LIMIT) if match else ""


@settings(max_examples=500, deadline=None)
@given(markdown_bodies)
def test_the_summary_is_the_first_paragraph_outside_quotes_lists_and_tables(text: str) -> None:
    html = render_markdown(text, BASE)
    assert summarise_html(html) == summary_by_removal(html)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=" \t\r\n\f\vab\xa0\u3000", max_size=20))
def test_white_space_folds_as_every_run_of_it_made_one_space(text: str) -> None:
    assert _SPACE.sub(" ", text) == re.sub(r"[ \t\r\n\f\v]+", " ", text)
