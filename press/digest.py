"""The digest run: choose the week, render once, write previews, the outbox and web copy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from feeds.model import Post
from feeds.select import published
from newsletter.digest import (
    WeekError,
    find_categories,
    latest_day,
    latest_week,
    parse_day,
    parse_week,
    previous_day,
    previous_week,
    select_day,
    select_post,
    select_week,
)
from newsletter.dkim import DkimKey, sign
from newsletter.ledger import DigestRecord
from newsletter.message import Envelope
from newsletter.model import Digest, NewsletterSpec, Recipient
from newsletter.render import RenderedDigest, personalise, render_digest, render_web_copy
from newsletter.splice import Splicer
from newsletter.tokens import DEVELOPMENT_KEY, Signer, link_subject
from newsletter.verp import unsubscribe_address
from press.config import Config
from press.content import load_posts
from press.incremental import open_cache
from press.templates import template_env
from press.write import write_atomic

if TYPE_CHECKING:
    from sqlalchemy import Engine

SAMPLE_RECIPIENT = "reader@example.com"
SAMPLE_ID = 0  # the sample recipient of a preview is no subscriber
SECRET_VARIABLE = "PRESS_SECRET_KEY"


def signer_from(config: Config) -> Signer:
    """The link signer: ``PRESS_SECRET_KEY``, or the development key when it is not set."""
    return Signer(config.secrets.get("secret_key") or DEVELOPMENT_KEY)


def choose_digest(
    config: Config, posts: Sequence[Post], period: str | None, spec: NewsletterSpec, now: datetime
) -> Digest:
    """The newsletter's digest of ``period``: for a weekly one an ISO week (``2022-W37``),
    for a daily one a day (``2022-09-16``); ``latest`` for the newest with posts; None for
    the last complete one. ``posts`` are the published posts."""
    zone = config.site.timezone
    chosen = find_categories(posts, spec)
    latest = period is not None and period.strip().lower() == "latest"
    if spec.cadence == "daily":
        if period is None:
            day = previous_day(now, zone)
        elif latest:
            day = latest_day(posts, chosen, zone) or previous_day(now, zone)
        else:
            day = parse_day(period)
        return select_day(posts, spec, chosen, day, zone)
    if period is None:
        wanted = previous_week(now, zone)
    elif latest:
        wanted = latest_week(posts, chosen, zone) or previous_week(now, zone)
    else:
        wanted = parse_week(period)
    return select_week(posts, spec, chosen, wanted, zone)


def newsletter_of(config: Config, newsletter: str | None) -> NewsletterSpec:
    """The newsletter ``newsletter`` (None: the first). An id press.toml does not name
    is the weekly digest of the category of that slug, sent by hand (``press digest
    --category``), as before there were several newsletters."""
    try:
        return config.newsletter_spec(newsletter)
    except KeyError:
        assert newsletter is not None
        weekly = [s for s in config.newsletters if s.cadence == "weekly"]
        base = weekly[0] if weekly else config.newsletters[0]
        return base._replace(
            id=newsletter, cadence="weekly", at="mon 07:00:00", categories=(newsletter,),
            title=f"The weekly {newsletter} digest", choose_categories=False,
        )  # fmt: skip


def recipient_for(config: Config, signer: Signer, email: str, subscriber_id: int) -> Recipient:
    """A recipient with their own signed unsubscribe and preferences links (which name
    the subscriber by id, never by address)."""
    site = config.site
    subject = link_subject(subscriber_id)
    pattern = config.delivery.unsubscribe_address
    address = unsubscribe_address(pattern, signer, subscriber_id)  # theirs alone
    return Recipient(
        email=email,
        unsubscribe_url=site.absolute(f"/unsubscribe/{signer.sign('unsubscribe', subject)}"),
        preferences_url=site.absolute(f"/preferences/{signer.sign('preferences', subject)}"),
        unsubscribe_mailto=f"mailto:{address}?subject=unsubscribe",
    )


@dataclass(frozen=True)
class DigestRun:
    """A rendered digest and what it needs to become messages."""

    config: Config
    rendered: RenderedDigest
    envelope: Envelope
    splicer: Splicer

    @property
    def digest(self) -> Digest:
        return self.rendered.digest

    def message_bytes(self, recipient: Recipient) -> bytes:
        return self.compose(recipient)[0]

    def compose(self, recipient: Recipient, dkim: DkimKey | None = None) -> tuple[bytes, str]:
        """One recipient's message as sent, DKIM-signed when a key is given, and its id."""
        data, mid = self.splicer.compose(recipient)
        return (sign(data, dkim) if dkim else data), mid


def prepare(
    config: Config, week: str | None, newsletter: str | None, now: datetime
) -> tuple[DigestRun, tuple[Post, ...]]:
    """Load the posts (through the last publish's cache), choose the digest of the
    newsletter ``newsletter`` (None: the first) and render it once."""
    loaded = load_posts(config, open_cache(config))
    posts = published(loaded.posts, now)
    spec = newsletter_of(config, newsletter)
    if spec not in config.newsletters:  # by hand, of one category: called as the posts spell it
        name = find_categories(posts, spec)[0].name
        spec = spec._replace(title=f"The weekly {name} digest", categories=(name,))
    if spec.cadence == "post":
        raise WeekError(f"{spec.id} emails each post as it is published, not a digest")
    return render_run(config, choose_digest(config, posts, week, spec, now), now), posts


def render_run(config: Config, digest: Digest, now: datetime) -> DigestRun:
    """The digest rendered once, ready to become each recipient's message. A ``post``
    newsletter's email carries the post's whole text and has no web copy of its own (the
    post's page is that)."""
    settings = config.newsletter
    if digest.newsletter.cadence == "post":
        settings = settings._replace(content="full", archive=False)
    rendered = render_digest(template_env(config), config.site, digest, settings)
    envelope = Envelope(
        sender=settings.sender,
        date=now,
        list_name=f"{digest.label} – {config.site.title}",
        reply_to=settings.reply_to,
    )
    return DigestRun(config, rendered, envelope, Splicer(config.site, rendered, envelope))


def prepare_post(
    config: Config, spec: NewsletterSpec, post: Post, period: str, now: datetime
) -> DigestRun:
    """A ``post`` newsletter's email of ``post``, named ``period`` in the ledger."""
    posts = (post,)
    digest = select_post(spec, find_categories(posts, spec), post, period, config.site.timezone)
    return render_run(config, digest, now)


def prepare_recorded(config: Config, record: DigestRecord, now: datetime) -> DigestRun:
    """The digest the ledger has as ``record``, rendered again (a worker's, a resumed
    one's): a ``post`` newsletter's is of the post that goes by the names it was sent by."""
    spec = newsletter_of(config, record.newsletter)
    if spec.cadence != "post":
        return prepare(config, record.week, record.newsletter, now)[0]
    from newsletter.ledger import digest_post_keys
    from newsletter.post_keys import post_keys
    from press.mail import open_store

    names = digest_post_keys(open_store(config), record.id)
    posts = published(load_posts(config, open_cache(config)).posts, now)
    for post in posts:
        if names.intersection(post_keys(config.site, post)):
            return prepare_post(config, spec, post, record.period, now)
    raise WeekError(f"digest {record.key}: its post is no longer published")


class ReaderRuns:
    """A digest as each reader chose it: whole, or (a newsletter its readers may narrow)
    only the posts of the categories they kept, each such choice rendered once."""

    def __init__(self, run: DigestRun, engine: Engine) -> None:
        from newsletter.store import narrowing

        self.run = run
        spec = run.digest.newsletter
        self.narrowed = narrowing(engine, spec.id) if spec.choose_categories else {}
        self.runs: dict[frozenset[str], DigestRun] = {}

    def wants(self, subscriber_id: int) -> bool:
        """Whether the reader has anything in this digest: not narrowed, or narrowed to a
        category one of its posts is filed under (the audience the ledger freezes)."""
        chosen = self.narrowed.get(subscriber_id)
        return not chosen or any(
            c.slug in chosen for post in self.run.digest.posts for c in post.categories
        )

    def of(self, subscriber_id: int) -> DigestRun:
        chosen = self.narrowed.get(subscriber_id)
        if not chosen:
            return self.run
        if chosen not in self.runs:
            digest = self.run.digest
            posts = tuple(p for p in digest.posts if any(c.slug in chosen for c in p.categories))
            kept = tuple(c for c in digest.categories if c.slug in chosen)
            # Narrowed since the audience was frozen to nothing of this week: the whole.
            self.runs[chosen] = (
                render_run(
                    self.run.config,
                    replace(digest, posts=posts, categories=kept or digest.categories),
                    self.run.envelope.date,
                )
                if posts
                else self.run
            )
        return self.runs[chosen]


def write_preview(run: DigestRun, folder: Path, signer: Signer) -> list[Path]:
    """``digest.html``, ``digest.txt`` and ``digest.eml`` for the sample recipient."""
    recipient = recipient_for(run.config, signer, SAMPLE_RECIPIENT, SAMPLE_ID)
    html, text = personalise(run.rendered, recipient)
    files = {
        "digest.html": html.encode("utf-8"),
        "digest.txt": text.encode("utf-8"),
        "digest.eml": run.message_bytes(recipient),
    }
    paths = []
    for name, data in files.items():
        write_atomic(folder / name, data)
        paths.append(folder / name)
    return paths


def outbox_name(run: DigestRun, email: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._@+-]", "_", email)
    return f"{run.digest.key}-{safe}.eml"


def write_outbox(
    run: DigestRun,
    folder: Path,
    signer: Signer,
    recipients: Sequence[tuple[str, int]],
    readers: ReaderRuns | None = None,
) -> list[Path]:
    """One ``.eml`` file per recipient (address, subscriber id), for a mail client or a
    later send: each as the reader chose it (``readers``: narrowed to their categories,
    none for a reader with nothing in it), or the whole digest for everyone."""
    paths = []
    for email, subscriber_id in recipients:
        if readers is not None and not readers.wants(subscriber_id):
            continue
        theirs = readers.of(subscriber_id) if readers is not None else run
        path = folder / outbox_name(run, email)
        data = theirs.message_bytes(recipient_for(run.config, signer, email, subscriber_id))
        write_atomic(path, data)
        paths.append(path)
    return paths


def write_web_copy(run: DigestRun) -> Path | None:
    """The digest's web copy in ``public/newsletter/``; untouched when unchanged. None
    when the site keeps no web copies (``newsletter.archive = false``)."""
    config = run.config
    settings = config.newsletter
    if not settings.archive:
        return None
    data = render_web_copy(template_env(config), config.site, run.digest, settings)
    path = config.folder("public") / run.digest.web_path
    if not (path.is_file() and path.read_bytes() == data):
        write_atomic(path, data)
    return path
