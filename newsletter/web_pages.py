"""What every endpoint shares: the settings, the rate limits, and ``Pages``, which
renders pages and reads forms."""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment
from sqlalchemy import Engine
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from feeds.model import Site
from newsletter.store import choice_text, parse_choice
from newsletter.tokens import Signer

CSRF_COOKIE = "press_csrf"
MAX_EMAIL = 320


@dataclass(frozen=True)
class Offer:
    """A newsletter on the forms: its id, its title, and, when its readers may narrow it,
    its categories (slug, name)."""

    id: str
    title: str
    categories: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WebSettings:
    """What the endpoints need besides the database and the templates."""

    newsletters: tuple[Offer, ...]  # offered on the forms
    default_newsletter: str  # the id checked on a blank form
    confirm_hours: int = 72
    per_client: int = 5  # subscribe posts per client address per window
    window: float = 600.0  # seconds
    cooldown: float = 3600.0  # seconds between two confirmation emails to one address


@dataclass
class RateLimit:
    """In-process sliding windows: per client address, and a cooldown per email address."""

    settings: WebSettings
    clients: dict[str, deque[float]] = field(default_factory=dict)
    addresses: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client_allowed(self, client: str, now: float) -> bool:
        with self.lock:
            hits = self.clients.setdefault(client, deque())
            while hits and hits[0] <= now - self.settings.window:
                hits.popleft()
            if len(hits) >= self.settings.per_client:
                return False
            hits.append(now)
            return True

    def address_allowed(self, email: str, now: float) -> bool:
        with self.lock:
            last = self.addresses.get(email)
            if last is not None and now - last < self.settings.cooldown:
                return False
            self.addresses[email] = now
            return True


RequestConfirmation = Callable[[str, list[str]], None]


@dataclass
class Pages:
    """What every endpoint shares: the store, the signer, the templates and the forms."""

    store: Engine
    site: Site
    signer: Signer
    env: Environment
    settings: WebSettings
    clock: Callable[[], datetime]
    ticks: Callable[[], float]
    limits: RateLimit = field(init=False)
    offered: list[Offer] = field(init=False)

    def __post_init__(self) -> None:
        self.limits = RateLimit(self.settings)
        self.offered = list(self.settings.newsletters)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = self.env.get_template(template).render(
            site=self.site,
            head_feeds=[],
            csrf=token,
            newsletters=self.offered,
            chosen=dict(parse_choice(c) for c in context.pop("selected", [])),
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["cache-control"] = "no-store"
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE,
                token,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def message(
        self, request: Request, title: str, message: str, status: int = 200, **extra: Any
    ) -> Response:
        return self.page(request, "message.html.j2", status, title=title, message=message, **extra)

    def stale_form(self, request: Request) -> Response:
        message = "The form had expired. Open the link from your email again."
        return self.message(request, "Please try again", message, 403)

    def broken_link(self, request: Request, reason: str) -> Response:
        return self.message(
            request,
            "This link does not work",
            f"Sorry: {reason}. Subscribe again to get a fresh link.",
            400,
            link=self.site.path("/subscribe"),
            link_text="Get a new link",
        )

    async def form(self, request: Request) -> FormData:
        """The posted form (its size is bounded by ``BodyLimit``); a body with no
        content type is read as URL-encoded."""
        if "content-type" not in request.headers:
            fields: list[tuple[str, str | UploadFile]] = []
            fields += parse_qsl((await request.body()).decode("latin-1"))
            return FormData(fields)
        return await request.form(max_files=0, max_fields=50)

    def csrf_ok(self, request: Request, form: FormData) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        return bool(cookie) and secrets.compare_digest(cookie, sent)

    def chosen(self, form: FormData) -> list[str]:
        """The newsletters ticked, each as a choice: narrowed where the reader ticked some
        but not all of its categories. ("category" is the field's name in forms served
        before there were several newsletters.)"""
        ticked = [str(v) for v in [*form.getlist("newsletter"), *form.getlist("category")]]
        found: list[str] = []
        for offer in self.offered:
            if offer.id not in ticked:
                continue
            slugs = {slug for slug, _ in offer.categories}
            kept = {str(v) for v in form.getlist(f"categories-{offer.id}")} & slugs
            found.append(choice_text(offer.id, sorted(kept) if kept != slugs else ()))
        return found

    def describe(self, choice: str) -> str:
        """A choice in words: ``The weekly Asia digest (China-U.S. only)``."""
        newsletter, kept = parse_choice(choice)
        offer = next((o for o in self.offered if o.id == newsletter), None)
        title = offer.title if offer else newsletter
        if not kept or offer is None:
            return title
        names = [name for slug, name in offer.categories if slug in kept]
        return f"{title} ({' and '.join(names)} only)"
