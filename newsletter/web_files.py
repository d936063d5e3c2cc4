"""``public/`` over HTTP: feeds and pages with their content types, validators and
caching.

The ETag is strong and made from the file's bytes (a hash), so every machine that
publishes the same site gives the same one, and a republish that writes the same bytes
keeps it; the gzip form has its own (``"<hash>-gzip"``, set by ``entity_tags`` once the
gzip middleware has decided), and every answer, 304 too, says ``Vary: Accept-Encoding``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A feed loads its XSL stylesheet as a browser loads a script: from this site only.
FEED_POLICY = CONTENT_SECURITY_POLICY + "; script-src 'self'"
GZIP_TAG = "-gzip"
STYLED = (".atom.xml", ".rss.xml")  # feeds that name the XSL stylesheet

MEDIA_TYPES = {
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".xsl": "text/xsl; charset=utf-8",
}


class SiteFiles(StaticFiles):
    """``public/`` with feed content types, validators (ETag, Last-Modified) and caching."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._hashes: dict[tuple[str, int, int, int], str] = {}

    def entity_tag(self, path: str, stat: os.stat_result) -> str:
        """The strong ETag of a file's bytes, hashed once while its size and time stay."""
        key = (path, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        found = self._hashes.get(key)
        if found is None:
            with open(path, "rb") as handle:
                found = hashlib.file_digest(handle, "blake2b").hexdigest()[:32]
            if len(self._hashes) > 100_000:  # a bound, for a site that churns for months
                self._hashes.clear()
            self._hashes[key] = found
        return f'"{found}"'

    def file_response(
        self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200
    ) -> Response:
        name = str(full_path)
        etag = self.entity_tag(name, stat_result)
        request = Headers(scope=scope)
        styled = name.endswith(STYLED)
        headers = {"etag": etag, "vary": "Accept, Accept-Encoding" if styled else "Accept-Encoding"}
        response: Response = FileResponse(
            full_path, status_code=status_code, stat_result=stat_result, headers=headers
        )
        held = _matching(request.get("if-none-match", ""), etag)
        if held is not None or _not_modified_since(self, response, scope):
            response = NotModifiedResponse(response.headers)
            if held:  # the form the client holds: identity or gzip
                response.headers["etag"] = held
        for suffix, media_type in MEDIA_TYPES.items():
            if name.endswith(suffix):
                response.headers["content-type"] = media_type
                break
        if styled and "text/html" in request.get("accept", ""):
            # A browser opening the feed: as XML, which it styles with the feed's XSL
            # (Chromium shows application/atom+xml and rss+xml as plain text).
            response.headers["content-type"] = "application/xml; charset=utf-8"
        if styled:
            response.headers["content-security-policy"] = FEED_POLICY
        long_lived = name.endswith(".css")
        response.headers["cache-control"] = f"public, max-age={86400 if long_lived else 300}"
        return response


def _matching(if_none_match: str, etag: str) -> str | None:
    """The tag of ``If-None-Match`` that names the current bytes (either form; ``*``
    gives the identity one), else None. Weak comparison, as RFC 9110 asks for it."""
    for tag in (t.strip().removeprefix("W/") for t in if_none_match.split(",") if t.strip()):
        if tag == "*" or tag == etag:
            return etag
        if tag == etag[:-1] + GZIP_TAG + '"':
            return tag
    return None


def _not_modified_since(files: StaticFiles, response: Response, scope: Scope) -> bool:
    """``If-Modified-Since`` as Starlette answers it, when there is no ``If-None-Match``."""
    request = Headers(scope=scope)
    if "if-none-match" in request:
        return False
    return files.is_not_modified(response.headers, request)


class ResponseHeaders:
    """ASGI middleware that hands each response's headers to ``change`` before they go."""

    def __init__(self, app: ASGIApp, change: Callable[[MutableHeaders], None]) -> None:
        self.app = app
        self.change = change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def changed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.change(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, changed)


def entity_tags(headers: MutableHeaders) -> None:
    """For ``ResponseHeaders`` outside the gzip middleware: a response it compressed gets
    its own ETag (``"<hash>-gzip"``), and ``Vary`` says each value once."""
    etag = headers.get("etag")
    if etag and headers.get("content-encoding") == "gzip" and GZIP_TAG not in etag:
        headers["etag"] = etag[:-1] + GZIP_TAG + '"'
    vary = headers.getlist("vary")
    if vary:
        values = [v.strip() for line in vary for v in line.split(",") if v.strip()]
        del headers["vary"]
        headers["vary"] = ", ".join(dict.fromkeys(values))
