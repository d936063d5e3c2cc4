"""sitemap.xml and robots.txt: every page on the site is listed once, with the date it
last changed; past the protocol's 50,000 URLs, an index of sitemap files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

from feeds.sitemap import XMLNS, sitemap_outputs
from press.config import load_config
from press.content import load_posts
from press.publish import publish

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NS = {"s": XMLNS}


def served_pages(public: Path) -> set[str]:
    """The site path of every HTML page written (the feeds index is a page for people
    who subscribe, the 404 page one for people who are lost: not for searchers)."""
    names = [p.relative_to(public).as_posix() for p in public.rglob("*.html")]
    skip = ("feeds/", "404.html")
    return {"/" + n.removesuffix("index.html") for n in names if not n.startswith(skip)}


def test_the_sitemap_lists_every_page_once_with_its_last_change(project: Path) -> None:
    config = load_config(project / "press.toml")
    publish(config, NOW)
    public = project / "public"
    root = ElementTree.parse(public / "sitemap.xml").getroot()
    urls = {u.findtext("s:loc", namespaces=NS): u.findtext("s:lastmod", namespaces=NS)
            for u in root.findall("s:url", NS)}  # fmt: skip
    assert len(urls) == len(root.findall("s:url", NS))  # each once
    paths = {urlsplit(url).path for url in urls}
    assert paths == served_pages(public)
    assert all(url.startswith("https://chinabystander.com/") for url in urls)
    posts = load_posts(config).posts
    for post in posts:
        assert urls[post.url] == post.modified.isoformat()
    home = sorted(posts, key=lambda p: p.timestamp, reverse=True)[: config.pages.home_items]
    assert urls["https://chinabystander.com/"] == max(p.modified for p in home).isoformat()
    robots = (public / "robots.txt").read_text()
    assert "User-agent: *" in robots
    assert "Sitemap: https://chinabystander.com/sitemap.xml" in robots.splitlines()


def test_a_site_in_a_folder_has_no_robots_txt(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(
        toml.read_text().replace('"https://chinabystander.com"', '"https://example.org/blog"', 1)
    )
    publish(load_config(toml), NOW)
    assert (project / "public/sitemap.xml").is_file()
    assert not (project / "public/robots.txt").exists()  # crawlers read only the host's


def test_past_the_limit_the_sitemap_is_an_index(project: Path) -> None:
    config = load_config(project / "press.toml")
    loaded = sorted(load_posts(config).posts, key=lambda p: p.timestamp, reverse=True)
    outputs = {
        o.name: o.make() for o in sitemap_outputs(config.site, loaded, config.pages, limit=4)
    }
    index = ElementTree.fromstring(outputs["sitemap.xml"])
    assert index.tag == f"{{{XMLNS}}}sitemapindex"
    parts = [u.findtext("s:loc", namespaces=NS) for u in index.findall("s:sitemap", NS)]
    names = [urlsplit(str(p)).path.lstrip("/") for p in parts]
    assert names == [f"sitemap-{n}.xml" for n in range(1, len(names) + 1)]
    listed = [
        u.findtext("s:loc", namespaces=NS)
        for name in names
        for u in ElementTree.fromstring(outputs[name]).findall("s:url", NS)
    ]
    everything = ElementTree.fromstring(
        next(o for o in sitemap_outputs(config.site, loaded, config.pages)).make()
    )
    assert listed == [u.findtext("s:loc", namespaces=NS) for u in everything.findall("s:url", NS)]
    assert all(len(ElementTree.fromstring(outputs[n]).findall("s:url", NS)) <= 4 for n in names)
