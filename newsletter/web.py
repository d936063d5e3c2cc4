"""The subscription endpoints and the published site over HTTP (Starlette).

``create_app`` takes its dependencies, so tests build one against a temporary database.
No GET changes anything: mail scanners open every link in a message.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.model import Site
from feeds.text import slugify
from newsletter.store import find_subscriber, insert_subscriber, set_categories, set_status
from newsletter.subscribers import InvalidEmail, normalise_email
from newsletter.tokens import Signer, TokenError, confirm_subject, read_confirm_subject

CSRF_COOKIE = "press_csrf"
MAX_BODY = 16 * 1024
MAX_EMAIL = 320
ONE_CLICK = "List-Unsubscribe=One-Click"
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-content-type-options": "nosniff",
    # Links in emails carry tokens: never hand them to another site in a Referer.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
MEDIA_TYPES = {
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


@dataclass(frozen=True)
class WebSettings:
    """What the endpoints need besides the database and the templates."""

    categories: tuple[str, ...]  # names offered on the forms
    default_category: str
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


class SiteFiles(StaticFiles):
    """``public/`` with feed content types, validators (ETag, Last-Modified) and caching."""

    def file_response(
        self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        name = str(full_path)
        for suffix, media_type in MEDIA_TYPES.items():
            if name.endswith(suffix):
                response.headers["content-type"] = media_type
                break
        long_lived = name.endswith(".css")
        response.headers["cache-control"] = f"public, max-age={86400 if long_lived else 300}"
        return response


class SecurityHeaders:
    """Adds the security headers to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.decode().lower() for k, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    store: Engine,
    site: Site,
    signer: Signer,
    env: Environment,
    settings: WebSettings,
    send_confirmation: Callable[[str, list[str]], None],
    public: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The web app: subscribe, confirm, unsubscribe, preferences, /healthz and the site."""
    limits = RateLimit(settings)
    offered = [(slugify(name), name) for name in settings.categories]
    names = dict(offered)

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = env.get_template(template).render(
            site=site, head_feeds=[], csrf=token, categories=offered, **context
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

    def problem(request: Request, title: str, message: str, status: int) -> HTMLResponse:
        return page(request, "message.html.j2", status, title=title, message=message)

    def unsubscribed(request: Request, email: str) -> HTMLResponse:
        message = f"{email} will get no more email from {site.title}."
        return page(request, "message.html.j2", title="You are unsubscribed", message=message)

    def stale_form(request: Request) -> HTMLResponse:
        message = "The form had expired. Open the link from your email again."
        return problem(request, "Please try again", message, 403)

    async def form_of(request: Request) -> FormData | None:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY:
            return None
        return await request.form(max_files=0, max_fields=50)

    def csrf_ok(request: Request, form: FormData) -> bool:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        return bool(cookie) and secrets.compare_digest(cookie, sent)

    def chosen(form: FormData) -> list[str]:
        wanted = [str(v) for v in form.getlist("category") if str(v) in names]
        return wanted

    async def subscribe_form(request: Request) -> Response:
        email = request.query_params.get("email", "")[:MAX_EMAIL]
        return page(
            request, "subscribe.html.j2", email=email, selected=[slugify(settings.default_category)]
        )

    async def subscribe(request: Request) -> Response:
        form = await form_of(request)
        if form is None:
            return problem(request, "Too large", "That request was too large.", 413)
        if not csrf_ok(request, form):
            return problem(
                request, "Please try again", "The form had expired. Please submit it again.", 403
            )
        client = request.client.host if request.client else "unknown"
        if not limits.client_allowed(client, time.monotonic()):
            return problem(request, "Slow down", "Too many attempts. Please try again later.", 429)
        raw = str(form.get("email", ""))[: MAX_EMAIL + 1]
        categories = chosen(form)
        try:
            if len(raw) > MAX_EMAIL:
                raise InvalidEmail("that address is too long")
            email = normalise_email(raw)
        except InvalidEmail as error:
            return page(
                request,
                "subscribe.html.j2",
                400,
                email=raw[:MAX_EMAIL],
                selected=categories,
                error=f"That does not look like an email address: {error}",
            )
        if not categories:
            return page(
                request,
                "subscribe.html.j2",
                400,
                email=email,
                selected=categories,
                error="Choose at least one digest.",
            )
        existing = find_subscriber(store, email)
        if existing is None:
            with store.begin() as connection:
                insert_subscriber(connection, email, "pending", categories, "web", clock())
        # The same answer for new, pending and confirmed addresses, so that the form cannot
        # tell anyone who subscribes; a confirmed address gets no email at all.
        wants_mail = existing is None or existing.status != "confirmed"
        if wants_mail and limits.address_allowed(email, time.monotonic()):
            send_confirmation(email, categories)
        return page(
            request,
            "message.html.j2",
            title="Check your inbox",
            message=f"If {email} can subscribe, a confirmation link is on its way to it. "
            "Open it to start receiving the digest.",
        )

    def confirm_token(token: str) -> tuple[str, list[str]]:
        subject = signer.verify("confirm", token, max_age=settings.confirm_hours * 3600)
        return read_confirm_subject(subject)

    async def confirm_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            email, categories = confirm_token(token)
        except TokenError as error:
            return expired(request, str(error))
        return page(
            request,
            "confirm.html.j2",
            email=email,
            digests=[names.get(c, c) for c in categories],
            token=token,
        )

    async def confirm(request: Request) -> Response:
        form = await form_of(request)
        if form is None or not csrf_ok(request, form):
            return stale_form(request)
        try:
            email, categories = confirm_token(request.path_params["token"])
        except TokenError as error:
            return expired(request, str(error))
        now = clock()
        if find_subscriber(store, email) is None:
            with store.begin() as connection:
                insert_subscriber(connection, email, "confirmed", categories, "web", now)
        else:
            set_categories(store, email, categories)
            set_status(store, email, "confirmed", now)
        return page(
            request,
            "message.html.j2",
            title="You are subscribed",
            message=f"Thank you: {email} will receive the weekly digest.",
        )

    def expired(request: Request, reason: str) -> HTMLResponse:
        return page(
            request,
            "message.html.j2",
            400,
            title="This link does not work",
            message=f"Sorry: {reason}. Subscribe again to get a fresh link.",
            link=site.path("/subscribe"),
            link_text="Get a new link",
        )

    def subscriber_of(purpose: str, token: str) -> str:
        return signer.verify(purpose, token)

    async def unsubscribe_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            email = subscriber_of("unsubscribe", token)
        except TokenError as error:
            return expired(request, str(error))
        return page(request, "unsubscribe.html.j2", email=email, token=token)

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        body = (await request.body())[: MAX_BODY + 1]
        one_click = body.strip() == ONE_CLICK.encode()
        if not one_click:
            form = await form_of(request)
            if form is None or not csrf_ok(request, form):
                return stale_form(request)
        try:
            email = subscriber_of("unsubscribe", token)
        except TokenError as error:
            return expired(request, str(error))
        if find_subscriber(store, email) is not None:
            set_status(store, email, "unsubscribed", clock())
        if one_click:  # RFC 8058: a plain 200, no cookies, no page to click through
            return PlainTextResponse("unsubscribed\n")
        return unsubscribed(request, email)

    async def preferences_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            email = subscriber_of("preferences", token)
        except TokenError as error:
            return expired(request, str(error))
        subscriber = find_subscriber(store, email)
        if subscriber is None or subscriber.status in ("unsubscribed", "bounced"):
            return problem(request, "Not subscribed", f"{email} is not subscribed.", 404)
        return page(
            request,
            "preferences.html.j2",
            email=email,
            token=token,
            selected=list(subscriber.categories),
            unsubscribe_token=signer.sign("unsubscribe", email),
        )

    async def preferences(request: Request) -> Response:
        form = await form_of(request)
        if form is None or not csrf_ok(request, form):
            return stale_form(request)
        try:
            email = subscriber_of("preferences", request.path_params["token"])
        except TokenError as error:
            return expired(request, str(error))
        categories = chosen(form)
        if not categories:
            set_status(store, email, "unsubscribed", clock())
            return unsubscribed(request, email)
        set_categories(store, email, categories)
        return page(
            request,
            "message.html.j2",
            title="Preferences saved",
            message=f"{email} will receive: {', '.join(names[c] for c in categories)}.",
        )

    async def healthz(request: Request) -> Response:
        with store.connect() as connection:
            connection.execute(text("SELECT 1"))
        return PlainTextResponse("ok\n", headers={"cache-control": "no-store"})

    routes: list[Any] = [
        Route("/subscribe", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm/{token}", confirm_page, methods=["GET"]),
        Route("/confirm/{token}", confirm, methods=["POST"]),
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
        Route("/preferences/{token}", preferences_page, methods=["GET"]),
        Route("/preferences/{token}", preferences, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
    ]
    if public is not None:
        routes.append(Mount("/", SiteFiles(directory=public, html=True, check_dir=False)))
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders), Middleware(GZipMiddleware, minimum_size=500)],
    )


__all__ = ["WebSettings", "confirm_subject", "create_app"]
