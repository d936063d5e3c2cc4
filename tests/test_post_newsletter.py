"""A `post` newsletter emails each post once, ever. `press run --once` (a start of the
scheduler, publish and send) runs after each change a publisher makes to a post that
went out; the SMTP server records what it accepts, and nothing more comes."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from newsletter.subscribers import add
from press.config import load_config
from press.mail import open_store
from tests.servers import PRESS
from tests.smtp_server import SmtpServer, smtp_server
from tests.test_delivery import KEY

pytestmark = pytest.mark.slow

BODY = (
    "MOSCOW AND BEIJING signed a gas agreement this week that both sides had talked about "
    "for a decade.\n\nWhat it means for Central Asia is less clear.\n"
)
NEWSLETTER = """
[newsletters.each-post]
title = "China-Russia, post by post"
categories = ["China-Russia"]
cadence = "post"
max_age_days = 2
"""


def post(path: Path, title: str, when: datetime, body: str = BODY, extra: str = "") -> Path:
    path.write_text(
        f"---\ntitle: {title}\ndate: {when.isoformat()}\ncategories: [China-Russia]\n"
        f"{extra}---\n\n{body}"
    )
    return path


def press_run_once(project: Path) -> None:
    done = subprocess.run(
        [PRESS, "run", "--once"], cwd=project, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PRESS_SECRET_KEY": KEY},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def subjects(server: SmtpServer) -> list[str]:
    return [
        str(message_from_bytes(m.data, policy=policy.default)["Subject"])
        for m in server.handler.received
    ]


@pytest.fixture
def site(project: Path, tmp_path: Path, database_url: str) -> Path:
    """The bundled site with a post newsletter, its database outside var/ (so deleting
    var/ deletes no subscriber) and two subscribers."""
    url = database_url
    if url.startswith("sqlite"):
        (tmp_path / "db").mkdir()
        url = f"sqlite:///{tmp_path / 'db' / 'press.db'}"
    toml = project / "press.toml"
    body = toml.read_text().replace('category = "China-Russia"\n', "")
    toml.write_text(body + NEWSLETTER + f'\n[storage]\nurl = "{url}"\n')
    config = load_config(toml, {"PRESS_SECRET_KEY": KEY})
    now = datetime.now(UTC)
    for email in ("one@example.com", "two@example.com"):
        add(open_store(config), email, ["each-post"], "test", now, confirmed=True)
    return project


def test_each_post_is_emailed_once_whatever_happens_to_it_after(site: Path) -> None:
    with smtp_server() as server:
        toml = site / "press.toml"
        toml.write_text(toml.read_text() + f'\n[smtp]\nurl = "{server.url}"\n')
        press_run_once(site)
        assert subjects(server) == []  # the archive's posts are old: none is emailed

        now = datetime.now(UTC).replace(microsecond=0)
        first = post(site / "posts" / "gas-deal.md", "A Gas Deal At Last", now - timedelta(hours=1))
        press_run_once(site)
        assert subjects(server) == ["A Gas Deal At Last"] * 2  # one each
        html = server.handler.received[0].message().get_body(("html",))
        assert html is not None and "What it means for Central Asia" in html.get_content()

        def nothing_more(what: str) -> None:
            before = len(server.handler.received)
            press_run_once(site)
            assert len(server.handler.received) == before, f"sent again after {what}"

        post(first, "A Gas Deal At Last", now - timedelta(hours=1), BODY + "\nAn update.\n")
        nothing_more("an edit")
        renamed = first.rename(site / "posts" / "2026-gas-deal.md")
        nothing_more("a rename")
        post(renamed, "A Gas Deal, At Last, Signed", now - timedelta(hours=1), BODY + "\nMore.\n")
        nothing_more("a new title (and its text edited again)")
        forced = subprocess.run(
            [PRESS, "publish", "--force"], cwd=site, capture_output=True, text=True, timeout=120
        )
        assert forced.returncode == 0, forced.stderr
        nothing_more("press publish --force")
        shutil.rmtree(site / "var")
        nothing_more("deleting var/")
        post(renamed, "A Gas Deal, At Last, Signed", now - timedelta(hours=30), BODY + "\nMore.\n")
        nothing_more("back-dating it")
        wordpress = site / "export.xml"
        wordpress.write_text(wxr("A Gas Deal At Last", now - timedelta(hours=1), BODY))
        imported = subprocess.run(
            [PRESS, "import", "wordpress", str(wordpress)], cwd=site, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        nothing_more("importing it from WordPress")

        old = "An old post, restored, with enough words in it to have a text name of its own."
        post(site / "posts" / "old.md", "Restored From A Backup", now - timedelta(days=3), old)
        nothing_more("a post older than max_age_days appearing")

        other = "Another post entirely, with words of its own and nothing of the first one.\n"
        post(site / "posts" / "next.md", "The Next Post", now - timedelta(minutes=5), other)
        press_run_once(site)
        assert subjects(server)[2:] == ["The Next Post"] * 2  # a new post still goes
        nothing_more("the second post went")


def wxr(title: str, when: datetime, body: str) -> str:
    """A WordPress export of one post (the same post, as a WordPress blog had it)."""
    gmt = when.astimezone(UTC)
    paragraphs = body.strip()
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
  <title>China Bystander</title>
  <link>https://chinabystander.wordpress.com</link>
  <wp:wxr_version>1.2</wp:wxr_version>
  <item>
    <title>{title}</title>
    <link>https://chinabystander.wordpress.com/?p=900</link>
    <dc:creator><![CDATA[bystander]]></dc:creator>
    <guid isPermaLink="false">https://chinabystander.wordpress.com/?p=900</guid>
    <content:encoded><![CDATA[{paragraphs}]]></content:encoded>
    <wp:post_id>900</wp:post_id>
    <wp:post_date_gmt><![CDATA[{gmt:%Y-%m-%d %H:%M:%S}]]></wp:post_date_gmt>
    <wp:post_name><![CDATA[gas-deal]]></wp:post_name>
    <wp:status><![CDATA[publish]]></wp:status>
    <wp:post_type><![CDATA[post]]></wp:post_type>
    <category domain="category" nicename="china-russia"><![CDATA[China-Russia]]></category>
  </item>
</channel>
</rss>
"""


@pytest.mark.parametrize("point", ["digest:freezing", "digest:frozen", "message:5"])
def test_killed_while_emailing_a_post_then_restarted_each_reader_has_it_once(
    site: Path, point: str
) -> None:
    """SIGKILL inside the transaction that remembers the post and freezes its audience,
    after it, and mid-send (the server kills press run as a message arrives, before its
    250); the next start finishes it, and no reader has it twice beyond the in-flight
    bound."""
    import signal

    from tests.smtp_server import SmtpHandler

    config = load_config(site / "press.toml", {"PRESS_SECRET_KEY": KEY})
    now = datetime.now(UTC)
    readers = [f"reader{n:02}@example.com" for n in range(20)]
    for email in readers:
        add(open_store(config), email, ["each-post"], "test", now, confirmed=True)
    everyone = {"one@example.com", "two@example.com", *readers}
    handler = SmtpHandler(delay=0.002)
    with smtp_server(handler) as server:
        toml = site / "press.toml"
        toml.write_text(toml.read_text() + f'\n[smtp]\nurl = "{server.url}"\n')
        post(site / "posts" / "gas-deal.md", "A Gas Deal At Last", now - timedelta(hours=1))
        environment = {**os.environ, "PRESS_SECRET_KEY": KEY}
        if point.startswith("digest:"):
            environment["PRESS_KILL_AT"] = point
        first = subprocess.Popen(
            [PRESS, "run", "--once"], cwd=site, env=environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if point.startswith("message:"):
            at = int(point.split(":")[1])
            handler.on_message = lambda n: n == at and first.send_signal(signal.SIGKILL)
        first.wait(timeout=120)
        handler.on_message = None
        assert first.returncode == -signal.SIGKILL
        if point == "digest:freezing":
            assert handler.received == []
        press_run_once(site)
        press_run_once(site)  # and once more: nothing left to send
        counts = handler.per_recipient()
    assert set(counts) == everyone
    extra = sum(counts.values()) - len(everyone)
    assert extra == 0 if point.startswith("digest:") else 0 <= extra <= 4
