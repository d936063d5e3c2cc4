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
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from feeds.model import Site
from newsletter.tokens import Signer
from newsletter.web_files import (
    CONTENT_SECURITY_POLICY,
    ResponseHeaders,
    SiteFiles,
    entity_tags,
)
from newsletter.web_leave import leave_routes
from newsletter.web_pages import Pages, RequestConfirmation, WebSettings
from newsletter.web_subscribe import subscribe_routes

MAX_BODY = 16 * 1024  # bytes of any request body; more is refused before it is read
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    # Links in emails carry tokens: never hand them to another site in a Referer.
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
TOKEN_PATH = re.compile(r"/(confirm|unsubscribe|preferences)/[^/?#\s]+")


def security_headers(headers: MutableHeaders) -> None:
    """The security headers, on every response that has not set its own."""
    for name, value in SECURITY_HEADERS.items():
        if name not in headers:
            headers[name] = value


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


def create_app(
    store: Engine,
    site: Site,
    signer: Signer,
    env: Environment,
    settings: WebSettings,
    request_confirmation: RequestConfirmation,
    *,
    clock: Callable[[], datetime],
    ticks: Callable[[], float],
    public: Path | None = None,
    lifespan: Any = None,
) -> Starlette:
    """The web app: subscribe, confirm, unsubscribe, preferences, /healthz and the site.

    ``request_confirmation(email, categories)`` queues a confirmation email (it returns
    at once: the answer to a subscribe must not tell, by its time, whether the address
    was known). ``clock`` gives the time of day, ``ticks`` seconds for the rate limits."""
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
    return Starlette(lifespan=lifespan, routes=routes, middleware=_middleware())


# Every path a reader subscribes, confirms, leaves or changes their choice on.
SUBSCRIPTION_PATHS = (
    "/subscribe",
    "/confirm/{token}",
    "/unsubscribe/{token}",
    "/preferences/{token}",
)


def create_preview_app(site: Site, env: Environment, public: Path, why: str) -> Starlette:
    """The published site alone, to look at before going live: no database, no signer,
    no mail. Every subscription endpoint answers 503 with a page that says ``why``."""

    async def off(request: Request) -> Response:
        html = env.get_template("message.html.j2").render(
            site=site, head_feeds=[], title="Subscriptions are off", message=why
        )
        return HTMLResponse(html, status_code=503, headers={"cache-control": "no-store"})

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok (preview)\n", headers={"cache-control": "no-store"})

    routes: list[Any] = [Route(path, off, methods=["GET", "POST"]) for path in SUBSCRIPTION_PATHS]
    routes.append(Route("/healthz", healthz, methods=["GET", "HEAD"]))
    routes.append(Mount("/", SiteFiles(directory=public, html=True, check_dir=False)))
    return Starlette(routes=routes, middleware=_middleware())


def _middleware() -> list[Middleware]:
    return [
        Middleware(ResponseHeaders, change=security_headers),
        Middleware(BodyLimit),
        Middleware(ResponseHeaders, change=entity_tags),  # after gzip: its form's own ETag
        Middleware(GZipMiddleware, minimum_size=500),
    ]


__all__ = ["RedactTokens", "WebSettings", "create_app", "create_preview_app"]
