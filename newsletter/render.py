"""Rendering the digest: Jinja2 into MJML, compiled once; a plain-text twin; subject.

What differs per subscriber (their unsubscribe and preferences links) is left as
placeholders in the compiled HTML and text, and filled in by ``personalise``: the MJML is
compiled once per digest however many people receive it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from typing import Any

from jinja2 import Environment
from mjml import mjml2html

from feeds.build import category_path
from feeds.counts import counted
from feeds.entry import comment_links, figure, image_alt, permalink
from feeds.model import Post, Site
from feeds.text import MONTHS, long_date, shorten, strip_controls
from newsletter.model import Digest, DigestSettings, Recipient
from newsletter.plaintext import html_to_text, wrap

PLACEHOLDERS = {
    "unsubscribe_url": "__PRESS_UNSUBSCRIBE_URL__",
    "preferences_url": "__PRESS_PREFERENCES_URL__",
}


@dataclass(frozen=True)
class RenderedDigest:
    """A digest ready to send: subject, preheader, and HTML and text with placeholders."""

    digest: Digest
    subject: str
    preheader: str
    html: str
    text: str


def day_text(when: datetime, site: Site) -> str:
    """``16 September 2022``, in the site's zone."""
    return long_date(when, site.timezone)


def week_dates(digest: Digest) -> str:
    """``12–18 September 2022``; ``29 August – 4 September 2022`` across months; a
    daily digest's one day, ``16 September 2022``."""
    first, last = digest.start.date(), (digest.end - timedelta(hours=12)).date()
    if digest.start == digest.end:  # one post's: its day
        last = first
    if first == last:
        return f"{first.day} {MONTHS[first.month - 1]} {first.year}"
    first_month, last_month = MONTHS[first.month - 1], MONTHS[last.month - 1]
    if first.year != last.year:
        return f"{first.day} {first_month} {first.year} – {last.day} {last_month} {last.year}"
    if first.month != last.month:
        return f"{first.day} {first_month} – {last.day} {last_month} {last.year}"
    return f"{first.day}–{last.day} {last_month} {last.year}"


THIS = {"weekly": "this week", "daily": "today", "post": ""}
EVERY = {"weekly": "every week", "daily": "every day", "post": "as each post is published"}


def about(title: str) -> str:
    """A newsletter's title inside a sentence: "you subscribed to the weekly … digest"."""
    first, _, rest = title.partition(" ")
    return f"{first.lower()} {rest}" if first in ("The", "A", "An") and rest else title


def comments_text(count: int) -> str:
    return {0: "Leave a comment", 1: "1 comment"}.get(count, f"{count:,} comments")


def count_text(count: int) -> str:
    return counted(count, "post")


def subject_fields(site: Site, digest: Digest) -> dict[str, Any]:
    """The fields that ``newsletter.subject`` and ``newsletter.preheader`` may use."""
    count = len(digest.posts)
    first = digest.posts[0].title if digest.posts else ""
    return {
        "site": site.title,
        "newsletter": digest.newsletter.title,
        "category": digest.label,
        "week": str(digest.week),
        "week_dates": week_dates(digest),
        "count": count,
        "posts": count_text(count),
        "first_title": shorten(first, 35),
        "title": first,
        "and_more": f" and {count - 1} more" if count > 1 else "",
    }


def header_text(text: str) -> str:
    """A header value that cannot start a new header: no CR, LF or other controls."""
    return " ".join(strip_controls(text.replace("\r", " ").replace("\n", " ")).split())


def _post_context(site: Site, post: Post, full: bool, text: bool) -> dict[str, Any]:
    url = permalink(site, post)
    plain = (  # for the text part, which a web copy has none of
        {
            "text": html_to_text(post.html) if full else wrap(post.summary),
            "caption_text": html_to_text(figure(post)) if (post.caption or post.credit) else "",
        }
        if text
        else {}
    )
    return {
        "title": post.title,
        "url": url,
        "date": day_text(post.date, site),
        "categories": [
            {"name": c.name, "url": site.absolute(category_path(c))} for c in post.categories
        ],
        "image": post.image,
        "alt": image_alt(post),
        "caption": post.caption,
        "credit": post.credit,
        "summary": post.summary,
        "html": post.html if full else None,
        "comments": comments_text(post.comments) if comment_links(site, post) else "",
        "comments_url": f"{url}#comments" if comment_links(site, post) else "",
        **plain,
    }


def digest_context(
    site: Site, digest: Digest, settings: DigestSettings, text: bool = True
) -> dict[str, Any]:
    fields = subject_fields(site, digest)
    full = settings.content == "full"
    return {
        "site": site,
        "digest": digest,
        "newsletter": digest.newsletter,
        "label": digest.label,
        "categories": [
            {"name": c.name, "url": site.absolute(category_path(c))} for c in digest.categories
        ],
        "about": about(digest.newsletter.title),
        "every": EVERY[digest.newsletter.cadence],
        "week_dates": fields["week_dates"],
        "intro": (
            f"{count_text(len(digest.posts))} {THIS[digest.newsletter.cadence]}"
            if THIS[digest.newsletter.cadence]
            else ""
        ),
        "posts": [_post_context(site, post, full, text) for post in digest.posts],
        "view_url": site.absolute(digest.web_path) if settings.archive else None,
        "subscribe_url": site.absolute("/subscribe"),
        "address": settings.address,
        "subject": header_text(digest.newsletter.subject.format(**fields)),
        "preheader": header_text(digest.newsletter.preheader.format(**fields)),
        **PLACEHOLDERS,
    }


def compile_mjml(source: str) -> str:
    """MJML to HTML, without links to web fonts."""
    html: str = mjml2html(source, disable_comments=True, fonts={})
    return html


def own_lines(html: str) -> str:
    """The paragraphs holding a recipient's own links each on a line of their own.

    MJML writes a body as few long lines, and the footer's links share one with the last
    post (6,000 characters of full text). Quoted-printable encodes line by line, so every
    copy encoded that whole line again for its two links; on a short line of its own, the
    rest is encoded once for all (``newsletter.splice``). A line break between block
    paragraphs shows nothing.
    """
    at = _next_placeholder(html, 0)
    while at >= 0:
        start = max(html.rfind("<p>", 0, at), html.rfind("<p ", 0, at))
        end = html.find("</p>", at)
        if start < 0 or end < 0 or html.rfind("</p>", 0, at) > start:
            return html  # not inside a paragraph: left as it is
        end += len("</p>")
        before = "" if html[start - 1 : start] == "\n" else "\n"
        after = "" if html[end : end + 1] == "\n" else "\n"
        html = f"{html[:start]}{before}{html[start:end]}{after}{html[end:]}"
        at = _next_placeholder(html, end + len(before) + len(after))
    return html


def _next_placeholder(html: str, start: int) -> int:
    """Where the first placeholder at or after ``start`` is; -1 when there is none."""
    found = [i for i in (html.find(p, start) for p in PLACEHOLDERS.values()) if i >= 0]
    return min(found, default=-1)


def render_digest(
    env: Environment, site: Site, digest: Digest, settings: DigestSettings
) -> RenderedDigest:
    """The email's HTML (compiled from MJML once) and text, with link placeholders."""
    context = digest_context(site, digest, settings)
    mjml = env.get_template(f"{digest.newsletter.template}.mjml.j2").render(**context, web=False)
    return RenderedDigest(
        digest=digest,
        subject=context["subject"],
        preheader=context["preheader"],
        html=own_lines(compile_mjml(mjml)),
        text=env.get_template(f"{digest.newsletter.template}.txt.j2").render(**context, web=False),
    )


def render_web_copy(
    env: Environment, site: Site, digest: Digest, settings: DigestSettings
) -> bytes:
    """The digest's web copy ("view in browser"): the same email, with no personal links."""
    context = digest_context(site, digest, settings, text=False)
    return compile_mjml(
        env.get_template(f"{digest.newsletter.template}.mjml.j2").render(**context, web=True)
    ).encode()


def personalise(rendered: RenderedDigest, recipient: Recipient) -> tuple[str, str]:
    """The HTML and text of one recipient's copy: their own links in place."""
    html_links, text_links = own_links(recipient)
    return fill(rendered.html, html_links), fill(rendered.text, text_links)


def own_links(recipient: Recipient) -> tuple[dict[str, str], dict[str, str]]:
    """What each placeholder becomes for ``recipient``: in the HTML, and in the text."""
    text = {placeholder: getattr(recipient, name) for name, placeholder in PLACEHOLDERS.items()}
    return {placeholder: escape(url) for placeholder, url in text.items()}, text


def fill(body: str, links: dict[str, str]) -> str:
    for placeholder, value in links.items():
        body = body.replace(placeholder, value)
    return body
