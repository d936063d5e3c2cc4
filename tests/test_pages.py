"""The pages: every link resolves, the archive matches the blog's, pages are well formed."""

from __future__ import annotations

import html as html_module
import re
import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from press.config import load_config
from press.digest import prepare, write_web_copy
from press.publish import publish
from tests.test_seed import archive_posts

NOW = datetime(2026, 1, 1, tzinfo=UTC)
HOST = "chinabystander.com"
# Served by `press serve`, not files: the subscription endpoints.
DYNAMIC = re.compile(r"^/(subscribe|confirm|unsubscribe|preferences)(/|$)")
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _Page(HTMLParser):
    """Collects links and ids, and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.seen_doctype = False

    def handle_decl(self, decl: str) -> None:
        self.seen_doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src", "action"):
            if values.get(name):
                self.links.append(str(values[name]))
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else ''}>")
            return
        self.stack.pop()


def parse_page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def published_site(project: Path) -> Path:
    config = load_config(project / "press.toml")
    publish(config, NOW)
    run, _ = prepare(config, "2022-W37", None, NOW)
    write_web_copy(run)
    return project / "public"


def target(public: Path, path: str) -> Path:
    file = public / path.lstrip("/")
    return file / "index.html" if path.endswith("/") or file.is_dir() else file


def links_in(public: Path) -> dict[str, set[str]]:
    """Every link found in every page and feed, by the file it was found in."""
    found: dict[str, set[str]] = {}
    for file in public.rglob("*"):
        name = file.relative_to(public).as_posix()
        if file.suffix == ".html":
            page = parse_page(file)
            base = "https://" + HOST + "/" + name
            found[name] = {urljoin(base, link) for link in page.links}
        elif file.suffix in (".xml", ".json", ".opml"):
            text = file.read_text(encoding="utf-8").replace("&amp;", "&")
            found[name] = set(re.findall(r"https?://[^\s\"'<>\\]+", text))
    return found


def test_every_internal_link_resolves(project: Path) -> None:
    public = published_site(project)
    checked = 0
    broken = []
    for source, links in links_in(public).items():
        for link in links:
            parts = urlsplit(link)
            if parts.hostname != HOST or DYNAMIC.match(parts.path):
                continue
            file = target(public, parts.path)
            checked += 1
            if not file.is_file():
                broken.append(f"{source}: {link}")
            elif (
                parts.fragment
                and file.suffix == ".html"
                and parts.fragment not in parse_page(file).ids
            ):
                broken.append(f"{source}: {link} (no #{parts.fragment})")
    assert broken == []
    assert checked > 500


def test_the_link_check_finds_a_broken_link(project: Path) -> None:
    public = published_site(project)
    shutil.rmtree(public / "2022" / "09" / "13")
    links = {link for links in links_in(public).values() for link in links}
    missing = [
        link for link in links
        if urlsplit(link).hostname == HOST and not DYNAMIC.match(urlsplit(link).path)
        and not target(public, urlsplit(link).path).is_file()
    ]  # fmt: skip
    assert any("/2022/09/13/" in link for link in missing)


def test_every_page_is_well_formed(project: Path) -> None:
    public = published_site(project)
    pages = sorted(public.rglob("*.html"))
    assert len(pages) >= 10 + 12 + 4
    for file in pages:
        page = parse_page(file)
        assert page.seen_doctype, file
        assert page.errors == [], file
        assert page.stack == [], f"{file}: unclosed {page.stack}"


def text_of(html: str) -> str:
    inline = re.sub(r"</?(a|span|time|em|strong)\b[^>]*>", "", html)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def test_the_china_russia_archive_matches_the_blog(project: Path) -> None:
    public = published_site(project)
    html = (public / "category/china-russia/index.html").read_text(encoding="utf-8")
    assert "<h1>Category Archives: China-Russia</h1>" in html
    articles = html.split('<article class="entry">')[1:]
    expected = archive_posts()
    assert len(articles) == len(expected) == 10
    for article, post in zip(articles, expected, strict=True):
        text = text_of(article)
        assert text.startswith(post.title), (text[:80], post.title)
        caption = post.blocks[0] if not post.blocks[0].split(" ")[0].isupper() else None
        if caption:
            assert caption in text
        label = {0: "Leave a comment", 1: "1 Comment"}.get(
            post.comments, f"{post.comments} Comments"
        )
        assert label in text
        assert "Filed under " + ", ".join(post.categories) in text
    assert not (public / "category/china-russia/page/2").exists()


def test_a_post_page(project: Path) -> None:
    public = published_site(project)
    path = public / "2022/09/13/russias-fulsomeness-discomforts-its-firm-friend-china/index.html"
    html = path.read_text(encoding="utf-8")
    url = "https://chinabystander.com/2022/09/13/russias-fulsomeness-discomforts-its-firm-friend-china/"
    assert f'<link rel="canonical" href="{url}">' in html
    title = "Russia’s Fulsomeness Discomforts Its Firm Friend China – China Bystander"
    assert f'<meta property="og:title" content="{title}">' in html
    assert '<meta property="og:description" content="MOSCOW HAS BEEN far more' in html
    assert 'href="https://chinabystander.com/feeds/category/china-russia.atom.xml"' in html
    assert 'href="https://chinabystander.com/feeds/all.atom.xml"' in html
    assert '<section id="comments"' in html and ">1 Comment<" in html
    assert 'rel="prev" href="/2022/09/08/xi-and-putin-to-meet-in-samarkand/"' in html
    newer = "/2022/09/16/china-is-becoming-the-big-brother-in-its-friendship-with-russia/"
    assert f'rel="next" href="{newer}"' in html
    assert "Photo credit: Xinhua" in html
    assert "<script" not in html


def test_golden_pages(project: Path, golden: Any) -> None:
    public = published_site(project)
    golden(
        "pages/russias-fulsomeness.html",
        (
            public / "2022/09/13/russias-fulsomeness-discomforts-its-firm-friend-china/index.html"
        ).read_bytes(),
    )
    golden(
        "pages/category-china-russia.html",
        (public / "category/china-russia/index.html").read_bytes(),
    )
    golden("pages/index.html", (public / "index.html").read_bytes())
    golden("pages/404.html", (public / "404.html").read_bytes())


def test_long_categories_are_paginated(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text() + "\n[pages]\nper_page = 4\n")
    public = published_site(project)
    first = (public / "category/china-russia/index.html").read_text()
    second = (public / "category/china-russia/page/2/index.html").read_text()
    third = (public / "category/china-russia/page/3/index.html").read_text()
    assert (
        first.count('<article class="entry">') == 4 and third.count('<article class="entry">') == 2
    )
    assert 'rel="next" href="/category/china-russia/page/2/"' in first
    assert 'rel="prev" href="/category/china-russia/"' in second
    assert 'rel="next" href="/category/china-russia/page/3/"' in second
    assert "Page 3 of 3" in third and 'rel="next"' not in third
    toml.write_text(toml.read_text().replace("per_page = 4", "per_page = 10"))
    result = publish(load_config(toml), NOW)
    assert "category/china-russia/page/2/index.html" in result.report.removed
    assert not (public / "category/china-russia/page").exists()


def test_a_removed_post_loses_its_page(project: Path) -> None:
    public = published_site(project)
    (project / "posts/2022-04-14-china-russia-trade-slows-in-march.md").unlink()
    result = publish(load_config(project / "press.toml"), NOW)
    assert "2022/04/14/china-russia-trade-slows-in-march/index.html" in result.report.removed
    assert not (public / "2022/04").exists()


def test_pages_are_untouched_when_nothing_changed(project: Path) -> None:
    published_site(project)
    result = publish(load_config(project / "press.toml"), NOW)
    assert result.report.written == [] and result.report.removed == []


@pytest.mark.parametrize(
    ("path", "width"),
    [
        ("2022/09/13/russias-fulsomeness-discomforts-its-firm-friend-china/index.html", 375),
        ("category/china-russia/index.html", 375),
        ("index.html", 375),
        ("index.html", 1280),
        ("feeds/index.html", 375),
        ("404.html", 375),
    ],
)
def test_pages_fit_the_screen(project: Path, path: str, width: int) -> None:
    from tests.browser import scroll_width

    public = published_site(project)
    html = (public / path).read_text(encoding="utf-8")
    css = (public / "style.css").read_text(encoding="utf-8")
    inlined = re.sub(r'<link rel="stylesheet"[^>]*>', f"<style>{css}</style>", html)
    assert scroll_width(inlined, width) <= width


def test_feeds_only(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text() + "\n[pages]\nenabled = false\n")
    public = published_site(project)
    assert (public / "feeds/all.atom.xml").is_file()
    assert not (public / "index.html").exists()
    assert not (public / "category").exists() and not (public / "2022").exists()


def test_a_site_without_templates_uses_press_own_and_overrides_one(project: Path) -> None:
    """No templates folder: press's own templates make the site. A folder with one
    template: that one is the site's, the rest press's own."""
    shutil.rmtree(project / "templates")
    publish(load_config(project / "press.toml"), NOW)
    assert (project / "public" / "style.css").is_file()
    home = (project / "public" / "index.html").read_text()
    assert "China Bystander" in home
    (project / "templates").mkdir()
    (project / "templates" / "style.css").write_text("body { color: teal }\n")
    result = publish(load_config(project / "press.toml"), NOW)
    assert not result.fast  # a template appeared: the build key saw it
    assert (project / "public" / "style.css").read_text() == "body { color: teal }\n"
    assert (project / "public" / "index.html").read_text() == home
