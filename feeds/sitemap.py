"""``sitemap.xml`` (the Sitemaps protocol, sitemaps.org) and the ``robots.txt`` that
points at it: every page a search engine should find, with the date it last changed."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from html import escape

from feeds.build import category_path
from feeds.model import PageSettings, Post, Site
from feeds.output import Output, always
from feeds.select import by_category, by_tag

LIMIT = 50_000  # URLs in one sitemap file (the protocol's limit); more go in an index
XMLNS = "http://www.sitemaps.org/schemas/sitemap/0.9"
Url = tuple[str, str]  # (absolute URL, lastmod as W3C datetime, or "")


def page_path(name: str) -> str:
    """The site path that serves a file under ``public/``: ``a/index.html`` is ``/a/``."""
    return "/" + name.removesuffix("index.html")


def sitemap_urls(
    site: Site, posts: Sequence[Post], settings: PageSettings, others: Sequence[str] = ()
) -> list[Url]:
    """The home page, each category's and tag's archive pages, each post's page, then
    ``others`` (paths of more pages, such as the digests' web copies, without a date);
    ``posts`` newest first. A page's ``lastmod`` is the last change of the newest post it shows."""
    home = posts[: settings.home_items]
    urls = [(site.absolute("/"), max(p.modified for p in home).isoformat() if home else "")]
    for category, entries in [*by_category(posts).items(), *by_tag(posts).items()]:
        for start in range(0, len(entries), settings.per_page):
            page = start // settings.per_page + 1
            path = category_path(category) + (f"page/{page}/" if page > 1 else "")
            chunk = entries[start : start + settings.per_page]
            urls.append((site.absolute(path), max(p.modified for p in chunk).isoformat()))
    urls += [(post.url, post.modified.isoformat()) for post in posts]
    urls += [(site.absolute(path), "") for path in others]
    return urls


def _urlset(urls: Sequence[Url]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{XMLNS}">']
    for loc, lastmod in urls:
        when = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{escape(loc)}</loc>{when}</url>")
    lines.append("</urlset>\n")
    return "\n".join(lines).encode("utf-8")


def _index(site: Site, parts: Sequence[Sequence[Url]]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<sitemapindex xmlns="{XMLNS}">']
    for number, part in enumerate(parts, 1):
        loc = escape(site.absolute(f"/sitemap-{number}.xml"))
        when = max((lastmod for _, lastmod in part), default="")
        lines.append(f"  <sitemap><loc>{loc}</loc><lastmod>{when}</lastmod></sitemap>")
    lines.append("</sitemapindex>\n")
    return "\n".join(lines).encode("utf-8")


def robots(site: Site) -> bytes:
    """Everything may be crawled; the sitemap is there."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {site.absolute('/sitemap.xml')}\n".encode()


def at_host_root(site: Site) -> bool:
    """Whether the site is the whole host (``robots.txt`` counts only at its root)."""
    return site.path("/") == "/"


def sitemap_outputs(
    site: Site,
    posts: Sequence[Post],
    settings: PageSettings,
    others: Sequence[str] = (),
    limit: int = LIMIT,
) -> Iterator[Output]:
    """``sitemap.xml`` (an index of ``sitemap-N.xml`` files past ``limit`` URLs) and, for
    a site at the root of its host, ``robots.txt``."""
    urls = sitemap_urls(site, posts, settings, others)
    if len(urls) <= limit:
        yield always("sitemap.xml", lambda: _urlset(urls))
    else:
        parts = [urls[i : i + limit] for i in range(0, len(urls), limit)]
        yield always("sitemap.xml", lambda: _index(site, parts))
        for number, part in enumerate(parts, 1):
            yield always(f"sitemap-{number}.xml", functools.partial(_urlset, part))
    if at_host_root(site):
        yield always("robots.txt", lambda: robots(site))
