"""A newcomer's path, run as they would run it: press new site, press new post, press
check, press publish, and a look at it with press serve (no key: a preview that sends
nothing)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.servers import PRESS, free_port, press_serve
from tests.smtp_server import SmtpHandler, smtp_server
from tests.waiting import wait_for

SITE = [
    "--title", "Kettle & Notes", "--url", "https://kettle.example.org", "--author", "K. Writer",
    "--timezone", "Europe/Paris", "--category", "Tea",
]  # fmt: skip


def press(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "PRESS_SECRET_KEY"}
    result = subprocess.run(
        [PRESS, *args], cwd=cwd, capture_output=True, text=True, env=environment, timeout=120
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_a_new_site_with_a_new_post_publishes_both(tmp_path: Path) -> None:
    made = press("new", "site", "blog", *SITE, cwd=tmp_path)
    blog = tmp_path / "blog"
    assert "press serve --watch" in made.stdout
    assert (blog / "press.toml").is_file() and (blog / "templates" / "base.html.j2").is_file()
    assert "/public/" in (blog / ".gitignore").read_text()
    wrote = press(
        "new", "post", "Oolong, Pu'er & \"Other\" Teas: a Note", "--category", "Tea",
        "--category", "Trade", cwd=blog,
    )  # fmt: skip
    name = wrote.stdout.split()[1]
    assert name.startswith("posts/") and name.endswith("-oolong-puer-other-teas-a-note.md")
    post = blog / name
    text = post.read_text()
    assert 'title: "Oolong, Pu\'er & \\"Other\\" Teas: a Note"' in text
    assert 'categories: ["Tea", "Trade"]' in text
    assert "+01:00" in text or "+02:00" in text  # now, in Europe/Paris
    post.write_text(text + "Green, then *black*.\n")

    checked = press("check", cwd=blog)
    assert "2 posts loaded" in checked.stdout and "0 skipped" in checked.stdout
    press("publish", cwd=blog)
    feed = feedparser.parse((blog / "public" / "feeds" / "all.atom.xml").read_bytes())
    assert not feed.bozo
    titles = {entry.title for entry in feed.entries}
    assert titles == {"Welcome to Kettle & Notes", 'Oolong, Pu\'er & "Other" Teas: a Note'}
    trade = feedparser.parse(
        (blog / "public" / "feeds" / "category" / "trade.rss.xml").read_bytes()
    )
    assert [entry.title for entry in trade.entries] == ['Oolong, Pu\'er & "Other" Teas: a Note']
    page = next((blog / "public").glob("20*/*/*/oolong-puer-other-teas-a-note/index.html"))
    assert "Green, then <em>black</em>." in page.read_text()
    assert "Kettle &amp; Notes" in (blog / "public" / "index.html").read_text()


def test_press_new_never_overwrites(tmp_path: Path) -> None:
    press("new", "site", "blog", *SITE, cwd=tmp_path)
    blog = tmp_path / "blog"
    toml = (blog / "press.toml").read_bytes()
    again = press("new", "site", "blog", *SITE, "--title", "Other", cwd=tmp_path, check=False)
    assert again.returncode == 1
    assert "not overwriting what is there: blog/.gitignore, blog/press.toml" in again.stderr
    assert (blog / "press.toml").read_bytes() == toml
    first = press("new", "post", "Same Title", cwd=blog)
    path = blog / first.stdout.split()[1]
    path.write_text(path.read_text() + "Kept.\n")
    second = press("new", "post", "Same title!", cwd=blog, check=False)
    assert second.returncode == 1 and "not overwriting" in second.stderr
    assert path.read_text().endswith("Kept.\n")
    # Half a site there already: nothing is written, not even the files that were missing.
    other = tmp_path / "half"
    (other / "posts").mkdir(parents=True)
    (other / "press.toml").write_text("# mine\n")
    refused = press("new", "site", "half", *SITE, cwd=tmp_path, check=False)
    assert refused.returncode == 1 and "half/press.toml" in refused.stderr
    assert sorted(p.name for p in other.rglob("*")) == ["posts", "press.toml"]


def test_wrong_answers_name_the_option_and_write_nothing(tmp_path: Path) -> None:
    answers = ["--title", " ", "--url", "ftp://x.org", "--author", "A", "--timezone", "Mars/Base"]
    result = press("new", "site", "blog", *answers, cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert "--title: must not be empty" in result.stderr
    assert "--url: expected an absolute http(s) URL, got 'ftp://x.org'" in result.stderr
    assert "--timezone: not a known time zone: 'Mars/Base'" in result.stderr
    assert not (tmp_path / "blog").exists()
    press("new", "site", "blog", *SITE, cwd=tmp_path)
    untitled = press("new", "post", "!!!", cwd=tmp_path / "blog", check=False)
    assert untitled.returncode == 2 and "give one with --slug" in untitled.stderr


def test_the_questions_are_asked_when_not_given(tmp_path: Path) -> None:
    answers = "Asked Blog\nhttps://asked.example.org\nA. Asker\nAsia/Tokyo\n"
    result = subprocess.run(
        [PRESS, "new", "site", "asked"], cwd=tmp_path, input=answers, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    toml = (tmp_path / "asked" / "press.toml").read_text()
    assert 'title = "Asked Blog"' in toml and 'timezone = "Asia/Tokyo"' in toml


@pytest.mark.slow
def test_serve_without_a_key_previews_the_site_and_sends_nothing(project: Path) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        toml = project / "press.toml"
        toml.write_text(toml.read_text() + f'\n[smtp]\nurl = "{server.url}"\n')
        press("publish", cwd=project)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with press_serve(project, port, key=None):
            home = httpx.get(base + "/")
            assert home.status_code == 200 and "China Bystander" in home.text
            feed = httpx.get(base + "/feeds/all.atom.xml")
            assert feed.headers["content-type"].startswith("application/atom+xml")
            assert not feedparser.parse(feed.content).bozo
            page = httpx.get(base + "/subscribe")
            assert page.status_code == 503
            assert "Subscriptions are off" in page.text and "PRESS_SECRET_KEY" in page.text
            posted = httpx.post(base + "/subscribe", data={"email": "someone@example.com"})
            assert posted.status_code == 503
            for path in ("/confirm/x.y", "/unsubscribe/x.y", "/preferences/x.y"):
                assert httpx.post(base + path, data={}).status_code == 503, path
            time.sleep(1.0)  # a confirmation would have gone by now
        log = (project / "serve.log").read_text()
    assert handler.received == []
    assert not (project / "var" / "outbox").exists()
    assert not (project / "var" / "press.db").exists()  # no database is even opened
    assert "serving a preview of public/ on http://localhost:" in log
    assert "subscriptions are off: PRESS_SECRET_KEY is not set" in log


@pytest.mark.slow
def test_serve_watch_publishes_a_new_post(project: Path) -> None:
    port = free_port()
    with press_serve(project, port, "--watch", key=None):
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200  # published at start
        (project / "posts" / "2022-12-01-watched.md").write_text(
            "---\ntitle: Watched\ndate: 2022-12-01T09:00:00Z\ncategories: [China-Russia]\n"
            "---\nSeen at once.\n"
        )

        def shown() -> bool:
            return httpx.get(f"http://127.0.0.1:{port}/2022/12/01/watched/").status_code == 200

        wait_for(shown, 30)
    assert "publish (posts changed)" in (project / "serve.log").read_text()
