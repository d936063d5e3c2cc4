"""Announcing changed feeds to a WebSub hub; a hub that is down is retried next time."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from press.write import write_atomic

log = logging.getLogger(__name__)


def ping(hub: str, feed_url: str, timeout: float = 10.0) -> None:
    """Tell ``hub`` that ``feed_url`` changed (``hub.mode=publish``); raises on failure."""
    body = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode()
    request = urllib.request.Request(
        hub,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def announce(hub: str, changed: Iterable[str], pending_file: Path) -> tuple[list[str], list[str]]:
    """Ping ``hub`` for each changed feed URL and each one a previous run could not.

    Returns the URLs announced and the URLs that failed; the failures are kept in
    ``pending_file`` for the next run. A failing hub never raises.
    """
    try:
        pending = json.loads(pending_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        pending = []
    urls = list(dict.fromkeys([*pending, *changed]))
    done: list[str] = []
    failed: list[str] = []
    for url in urls:
        try:
            ping(hub, url)
            done.append(url)
        except (urllib.error.URLError, OSError, ValueError) as error:
            log.warning("WebSub hub %s: could not announce %s: %s; will retry", hub, url, error)
            failed.append(url)
    if failed or pending:
        write_atomic(pending_file, json.dumps(failed, indent=0).encode())
    return done, failed
