"""The subscription endpoints and the published site over HTTP (Starlette).

``create_app`` takes its dependencies, so tests build one against a temporary database.
The endpoints live by concern: ``web_subscribe`` (subscribe, confirm), ``web_leave``
(unsubscribe, one-click, preferences), ``web_files`` (``public/``). Handlers read the
request on the event loop and do their database work in Starlette's thread pool; mail
goes from a queue after the response. No GET changes anything: mail scanners open every
link in a message.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.model import Site
from feeds.text import slugify
from newsletter.tokens import Signer

CSRF_COOKIE = "press_csrf"
MAX_BODY = 16 * 1024  # bytes of any request body; more is refused before it is read
MAX_EMAIL = 320
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
TOKEN_PATH = re.compile(r"/(confirm|unsubscribe|preferences)/[^/?#\s]+")


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


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413: at once when its
    Content-Length says so, and as soon as a chunked body passes the limit (the rest is
    never read, so the server's memory stays flat whatever is sent)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(send)
            return
        seen, started = 0, False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, watched)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = f"request body over {self.limit} bytes\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RedactTokens(logging.Filter):
    """For uvicorn's access log: the tokens in link paths never reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                TOKEN_PATH.sub(r"/\1/…", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
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
    offered: list[tuple[str, str]] = field(init=False)  # (slug, name)
    names: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.limits = RateLimit(self.settings)
        self.offered = [(slugify(name), name) for name in self.settings.categories]
        self.names = dict(self.offered)

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> Response:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        html = self.env.get_template(template).render(
            site=self.site, head_feeds=[], csrf=token, categories=self.offered, **context
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
        return [str(v) for v in form.getlist("category") if str(v) in self.names]


def create_app(
    store: Engine,
    site: Site,
    signer: Signer,
    env: Environment,
    settings: WebSettings,
    request_confirmation: RequestConfirmation,
    public: Path | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ticks: Callable[[], float] = time.monotonic,
    lifespan: Any = None,
) -> Starlette:
    """The web app: subscribe, confirm, unsubscribe, preferences, /healthz and the site.

    ``request_confirmation(email, categories)`` queues a confirmation email (it returns
    at once: the answer to a subscribe must not tell, by its time, whether the address
    was known)."""
    from newsletter.web_files import SiteFiles
    from newsletter.web_leave import leave_routes
    from newsletter.web_subscribe import subscribe_routes

    pages = Pages(store, site, signer, env, settings, clock, ticks)

    async def healthz(request: Request) -> Response:
        def ping() -> None:
            with store.connect() as connection:
                connection.execute(text("SELECT 1"))

        await run_in_threadpool(ping)
        return PlainTextResponse("ok\n", headers={"cache-control": "no-store"})

    routes: list[Any] = [
        *subscribe_routes(pages, request_confirmation),
        *leave_routes(pages),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
    ]
    if public is not None:
        routes.append(Mount("/", SiteFiles(directory=public, html=True, check_dir=False)))
    return Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BodyLimit),
            Middleware(GZipMiddleware, minimum_size=500),
        ],
    )


__all__ = ["RedactTokens", "WebSettings", "create_app"]
