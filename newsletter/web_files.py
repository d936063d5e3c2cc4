"""``public/`` over HTTP: feeds and pages with their content types, validators and
caching."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

MEDIA_TYPES = {
    ".atom.xml": "application/atom+xml; charset=utf-8",
    ".rss.xml": "application/rss+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


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
