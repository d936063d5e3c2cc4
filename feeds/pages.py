"""The site's pages: a permalink page per post, an archive per category and tag, the
home page.

Pure functions from posts and templates to bytes, like the feeds beside them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

from jinja2 import Environment

from feeds.build import Feed, category_path
from feeds.discovery import FeedLink, feed_links
from feeds.entry import comment_links, image_alt, permalink
from feeds.model import Category, Comment, PageSettings, Post, Site
from feeds.output import Output, always, output_key, posts_key
from feeds.posts import permalink_path
from feeds.select import by_category, by_tag, tag_terms
from feeds.text import long_date, slugify


def page_file(path: str) -> str:
    """The file under ``public/`` that serves a site path: ``/a/b/`` is ``a/b/index.html``."""
    path = path.lstrip("/")
    return path + "index.html" if path.endswith("/") or not path else path


def archive_path(category: Category, page: int) -> str:
    """``/category/china-russia/``, then ``/category/china-russia/page/2/`` and on (a
    tag's: ``/tag/arctic/``)."""
    base = category_path(category)
    return base if page == 1 else f"{base}page/{page}/"


def comments_label(count: int) -> str:
    """As the blog has always said it: Leave a comment, 1 Comment, 5 Comments."""
    return {0: "Leave a comment", 1: "1 Comment"}.get(count, f"{count} Comments")


def post_link(site: Site, post: Post) -> str:
    """A post's link from another page of the site (host-relative, works on any host)."""
    return site.path(permalink_path(site, post.slug, post.date))


def post_summary(site: Site, post: Post, settings: PageSettings) -> dict[str, Any]:
    """What a page shows of a post, as plain values for a template."""
    return {
        "title": post.title,
        "url": post_link(site, post),
        "date": long_date(post.date, site.timezone),
        "iso_date": post.date.isoformat(),
        "author": post.author,
        "image": post.image,
        "alt": image_alt(post),
        "caption": post.caption,
        "credit": post.credit,
        "summary": post.summary,
        "html": post.html,
        "full": settings.content == "full",
        # With comment links off, no label and no link (a template shows neither).
        "comments": comments_label(post.comments) if comment_links(site, post) else "",
        "comments_url": post_link(site, post) + "#comments" if comment_links(site, post) else "",
        "categories": [
            {"name": c.name, "url": site.path(category_path(c))} for c in post.categories
        ],
        "tags": [{"name": t.name, "url": site.path(category_path(t))} for t in tag_terms(post)],
    }


def comment_thread(site: Site, post: Post) -> list[dict[str, Any]]:
    """The post's comments as a tree for a template: each with its replies, oldest first.
    A comment whose parent is not there (deleted by hand), or that is part of a loop of
    parents, is shown at the top level: none is ever lost."""
    if not post.thread:
        return []
    from feeds.markdown import render_markdown  # as Post.html does: only when needed

    ids = {c.id for c in post.thread}
    children: dict[str, list[Comment]] = {}
    for comment in post.thread:
        parent = comment.parent if comment.parent in ids and comment.parent != comment.id else ""
        children.setdefault(parent, []).append(comment)
    shown: set[str] = set()

    def node(comment: Comment) -> dict[str, Any]:
        shown.add(comment.id)
        replies = [node(c) for c in children.get(comment.id, []) if c.id not in shown]
        return {
            "id": slugify(comment.id) or "x",
            "author": comment.author,
            "url": comment.url,
            "date": long_date(comment.date, site.timezone),
            "iso_date": comment.date.isoformat(),
            "html": render_markdown(comment.text, post.url),
            "replies": replies,
        }

    tree = [node(c) for c in children.get("", [])]
    tree += [node(c) for c in post.thread if c.id not in shown]  # in a loop of parents
    return tree


def reply_link(site: Site, post: Post) -> str:
    """``mailto:`` the site's comments address, with the post's title as the subject."""
    if site.comments != "email" or not site.comments_to or not post.discussion:
        return ""
    return f"mailto:{site.comments_to}?subject={quote('Re: ' + post.title)}"


def _links(site: Site, feeds: Sequence[Feed | None], formats: Sequence[str]) -> list[FeedLink]:
    return [link for feed in feeds if feed for link in feed_links(site, feed, formats)]


def _render(env: Environment, name: str, **context: Any) -> bytes:
    return env.get_template(name).render(**context).encode("utf-8")


def _post_page(
    env: Environment,
    site: Site,
    settings: PageSettings,
    post: Post,
    newer: Post | None,
    older: Post | None,
    head_feeds: list[FeedLink],
) -> bytes:
    return _render(
        env,
        "post.html.j2",
        site=site,
        post=post_summary(site, post, settings),
        newer=newer and {"title": newer.title, "url": post_link(site, newer)},
        older=older and {"title": older.title, "url": post_link(site, older)},
        thread=comment_thread(site, post),
        thread_label=comments_label(len(post.thread)),
        reply_url=reply_link(site, post),
        canonical=permalink(site, post),
        description=post.summary,
        image=post.image,
        og_type="article",
        head_feeds=head_feeds,
    )


def build_pages(
    env: Environment,
    site: Site,
    posts: Sequence[Post],
    feeds: Sequence[Feed],
    settings: PageSettings,
    formats: Sequence[str],
) -> Iterator[Output]:
    """Every page, one at a time: posts, category and tag archives (paginated), the home
    page.

    ``posts`` are the published posts, newest first; ``formats`` are the feed formats
    the pages link to.
    """
    feed_of = {feed.key: feed for feed in feeds}
    site_feed = feed_of.get("all")
    for index, post in enumerate(posts):
        newer = posts[index - 1] if index > 0 else None
        older = posts[index + 1] if index + 1 < len(posts) else None
        category_feeds = [feed_of.get(f"category/{c.slug}") for c in post.categories]
        yield Output(
            page_file(permalink_path(site, post.slug, post.date)),
            output_key("post", settings, formats, posts_key((post, newer, older))),
            functools.partial(
                _post_page,
                env,
                site,
                settings,
                post,
                newer,
                older,
                _links(site, [site_feed, *category_feeds], formats),
            ),
            post.timestamp,
        )
    groups = by_category(posts)
    for category, entries in [*groups.items(), *by_tag(posts).items()]:
        category_feed = feed_of.get(f"{category.kind}/{category.slug}")
        links = (
            _links(site, [category_feed], formats),
            _links(site, [category_feed, site_feed], formats),
        )
        yield from _category_pages(env, site, category, entries, links, settings)
    categories = [
        {"name": c.name, "url": site.path(category_path(c)), "count": len(entries)}
        for c, entries in sorted(groups.items(), key=lambda item: item[0].name.lower())
    ]
    yield always(
        "index.html",
        lambda: _render(
            env,
            "index.html.j2",
            site=site,
            posts=[post_summary(site, p, settings) for p in posts[: settings.home_items]],
            categories=categories,
            feeds=_links(site, [site_feed], formats),
            canonical=site.absolute("/"),
            description=site.description,
            image=None,
            og_type="website",
            head_feeds=_links(site, [site_feed], formats),
        ),
    )
    # Served with status 404 by press serve (and by most static hosts) for any missing
    # path: its links are host-relative, so they work from wherever it is shown.
    yield always(
        "404.html",
        lambda: _render(
            env,
            "404.html.j2",
            site=site,
            posts=[post_summary(site, p, settings) for p in posts[:5]],
            categories=categories,
            head_feeds=_links(site, [site_feed], formats),
        ),
    )


def _category_pages(
    env: Environment,
    site: Site,
    category: Category,
    entries: Sequence[Post],
    links: tuple[list[FeedLink], list[FeedLink]],
    settings: PageSettings,
) -> Iterator[Output]:
    per_page = settings.per_page
    pages = max(1, -(-len(entries) // per_page))
    for page in range(1, pages + 1):
        chunk = entries[(page - 1) * per_page : page * per_page]
        path = archive_path(category, page)
        yield Output(
            page_file(path),
            output_key("archive", category, page, pages, settings, links, posts_key(chunk)),
            functools.partial(
                _archive_page, env, site, settings, category, chunk, page, pages, links
            ),
            chunk[0].timestamp if chunk else 0.0,
        )


def _archive_page(
    env: Environment,
    site: Site,
    settings: PageSettings,
    category: Category,
    chunk: Sequence[Post],
    page: int,
    pages: int,
    links: tuple[list[FeedLink], list[FeedLink]],
) -> bytes:
    """``links``: the feeds the page offers, and those its head announces."""
    offered, announced = links
    return _render(
        env,
        "category.html.j2",
        site=site,
        category=category,
        posts=[post_summary(site, p, settings) for p in chunk],
        page=page,
        pages=pages,
        newer_url=site.path(archive_path(category, page - 1)) if page > 1 else None,
        older_url=site.path(archive_path(category, page + 1)) if page < pages else None,
        feeds=offered,
        canonical=site.absolute(archive_path(category, page)),
        description=(
            f"Posts tagged {category.name} from {site.title}"
            if category.kind == "tag"
            else f"{category.name} commentary from {site.title}"
        ),
        image=None,
        og_type="website",
        head_feeds=announced,
    )
