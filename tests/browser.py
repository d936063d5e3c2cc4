"""Headless Chromium for looking at pages as a reader would (Debian's ``chromium``)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from html import escape
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def chromium() -> str:
    """The browser's path; skips the test where there is none, fails in CI."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def _run(args: list[str]) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=90,
        )
    return result.stdout


def scroll_width(html: str, width: int) -> int:
    """How wide ``html`` lays out in a frame ``width`` pixels wide.

    Headless windows are at least 500 pixels wide, so the page goes into an iframe of the
    width asked for, and a script in the outer page (the page itself has none) measures it.
    """
    harness = f"""<!doctype html><html><body style="margin:0">
<iframe id="f" style="border:0;width:{width}px;height:2000px" srcdoc="{escape(html)}"></iframe>
<script>
window.addEventListener("load", () => {{
  const doc = document.getElementById("f").contentDocument.documentElement;
  document.body.setAttribute("data-scroll-width", doc.scrollWidth);
}});
</script></body></html>"""
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "harness.html"
        page.write_text(harness, encoding="utf-8")
        dom = _run(["--dump-dom", "--virtual-time-budget=5000", page.as_uri()])
    match = re.search(r'data-scroll-width="(\d+)"', dom)
    assert match, "the measuring script did not run"
    return int(match.group(1))


def screenshot(url: str, path: Path, width: int, height: int = 2000) -> Path:
    """A PNG of ``url`` at ``width`` pixels, for a person to look at."""
    _run([f"--screenshot={path}", f"--window-size={width},{height}", url])
    assert path.is_file() and path.stat().st_size > 0
    return path


def dom(url: str) -> str:
    """The document Chromium makes of ``url`` (after any XSLT it applies), serialised."""
    return _run(["--dump-dom", "--virtual-time-budget=5000", url])
