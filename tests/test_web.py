"""The subscription endpoints and the site, over real HTTP against a real uvicorn server."""

from __future__ import annotations

import base64
import gzip
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from newsletter.store import find_subscriber
from newsletter.tokens import Signer, confirm_subject
from newsletter.web import WebSettings, create_app
from newsletter.web_pages import Offer
from press.config import Config, load_config
from press.digest import prepare
from press.mail import open_store
from press.publish import publish
from press.send import send_digest
from press.serve import build_app
from press.templates import template_env
from tests.servers import free_port
from tests.smtp_server import SmtpHandler, smtp_server
from tests.waiting import wait_for

KEY = "web test key, long enough to sign with"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


@contextmanager
def serving(config: Config, app: Starlette | None = None) -> Iterator[str]:
    app = app or build_app(config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_config(project: Path, smtp_url: str = "", database_url: str = "") -> Config:
    toml = project / "press.toml"
    if database_url:
        toml.write_text(toml.read_text() + f'\n[storage]\nurl = "{database_url}"\n')
    if smtp_url:
        toml.write_text(
            toml.read_text() + f'\n[smtp]\nurl = "{smtp_url}"\n[delivery]\nbackoff = 0.01\n'
        )
    config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
    publish(config, NOW)
    return config


def pending(config: Config, email: str = "a@example.com") -> tuple[int, int]:
    """A pending subscriber's id and version, for a confirm link."""
    from newsletter.subscribers import add

    engine = open_store(config)
    add(engine, email, ["China-Russia"], "test", NOW)
    found = find_subscriber(engine, email)
    assert found is not None
    return found.id, found.version


def link(config: Config, purpose: str, email: str = "a@example.com") -> str:
    """The path of a subscriber's own unsubscribe or preferences link."""
    from newsletter.tokens import link_subject

    found = find_subscriber(open_store(config), email)
    assert found is not None
    return f"/{purpose}/{Signer(KEY).sign(purpose, link_subject(found.id))}"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


def subscribe(client: httpx.Client, email: str) -> httpx.Response:
    form = client.get("/subscribe")
    return client.post(
        "/subscribe", data={"email": email, "category": "china-russia", "csrf": csrf_of(form.text)}
    )


def link_in(data: bytes, kind: str) -> str:
    text = message_from_bytes(data, policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"https://chinabystander\.com(/{kind}/\S+)", text)
    assert match, f"no {kind} link"
    return match.group(1)


def test_subscribe_confirm_send_and_one_click_unsubscribe(project: Path, database_url: str) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as smtp:
        config = make_config(project, smtp.url, database_url)
        with serving(config) as base, httpx.Client(base_url=base) as client:
            answer = subscribe(client, "Reader@Example.com")
            assert answer.status_code == 200 and "Check your inbox" in answer.text
            wait_for(lambda: len(handler.received) == 1)  # sent after the answer
            [confirmation] = handler.received
            assert confirmation.recipients == ["reader@example.com"]
            confirm_path = link_in(confirmation.data, "confirm")
            engine = open_store(config)

            page = client.get(confirm_path)  # a link scanner's GET changes nothing
            assert page.status_code == 200 and "Confirm my subscription" in page.text
            assert find_subscriber(engine, "reader@example.com").status == "pending"  # type: ignore[union-attr]
            done = client.post(confirm_path, data={"csrf": csrf_of(page.text)})
            assert done.status_code == 200 and "You are subscribed" in done.text
            assert find_subscriber(engine, "reader@example.com").status == "confirmed"  # type: ignore[union-attr]

            run, _ = prepare(config, "2022-W37", None, NOW)
            report = send_digest(config, run, engine)
            assert report.sent == 1
            digest = handler.received[-1].message()
            unsubscribe = digest["List-Unsubscribe"].split(",")[0].strip("<> ")
            path = unsubscribe.removeprefix("https://chinabystander.com")

            # RFC 8058: a POST with exactly this body, no cookies, answers 200.
            with httpx.Client(base_url=base) as stranger:
                one_click = stranger.post(
                    path,
                    content=b"List-Unsubscribe=One-Click",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
            assert one_click.status_code == 200
            assert find_subscriber(engine, "reader@example.com").status == "unsubscribed"  # type: ignore[union-attr]


def test_the_answer_is_the_same_for_new_pending_and_confirmed(project: Path) -> None:
    config = make_config(project)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        from newsletter.subscribers import add

        add(open_store(config), "known@example.com", ["China-Russia"], "test", NOW, confirmed=True)
        bodies = []
        for email in ("new@example.com", "new@example.com", "known@example.com"):
            response = subscribe(client, email)
            assert response.status_code == 200
            bodies.append(response.text.replace(email, "EMAIL"))
        assert bodies[0] == bodies[1] == bodies[2]
    outbox = sorted(p.name for p in (project / "var" / "outbox").iterdir())
    assert outbox == ["confirm-new@example.com.eml"]  # one mail; none to the confirmed


def test_rate_limits(project: Path) -> None:
    config = make_config(project)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        codes = [subscribe(client, f"r{i}@example.com").status_code for i in range(6)]
        assert codes == [200, 200, 200, 200, 200, 429]
    outbox = project / "var" / "outbox"
    assert len(list(outbox.iterdir())) == 5
    config = make_config(project)
    with serving(config) as base:
        # The same victim from many client addresses: one confirmation, then a cooldown.
        for _ in range(3):
            with httpx.Client(base_url=base) as client:
                assert subscribe(client, "victim@example.com").status_code == 200
    assert len([p for p in outbox.iterdir() if "victim" in p.name]) == 1


def test_csrf_is_required(project: Path) -> None:
    config = make_config(project)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        bare = client.post(
            "/subscribe", data={"email": "a@example.com", "category": "china-russia"}
        )
        assert bare.status_code == 403
        client.get("/subscribe")
        wrong = client.post(
            "/subscribe", data={"email": "a@example.com", "category": "china-russia", "csrf": "x"}
        )
        assert wrong.status_code == 403
    assert find_subscriber(open_store(config), "a@example.com") is None


def test_bad_tokens_get_a_friendly_page(project: Path) -> None:
    config = make_config(project)
    pending(config)
    signer = Signer(KEY)
    good = link(config, "unsubscribe").split("/")[-1]
    _, signature = good.split(".")
    other = base64.urlsafe_b64encode(b'"s999"').decode().rstrip("=")
    with serving(config) as base, httpx.Client(base_url=base) as client:
        for path in (
            f"/unsubscribe/{other}.{signature}",  # another subscriber, the same signature
            f"/unsubscribe/{Signer('forged').sign('unsubscribe', 's1')}",
            f"/unsubscribe/{signer.sign('preferences', 's1')}",  # wrong purpose
            "/confirm/garbage",
            "/preferences/nonsense.value",
        ):
            response = client.get(path)
            assert response.status_code == 400, path
            assert "This link does not work" in response.text
            assert 'href="/subscribe"' in response.text  # a way to ask for a new link
            assert "Traceback" not in response.text
        assert client.get(f"/unsubscribe/{good}").status_code == 200


def test_an_expired_confirm_link_is_refused(project: Path) -> None:
    config = make_config(project)
    token = Signer(KEY).sign("confirm", confirm_subject(*pending(config), ["china-russia"]))
    with serving(config) as base, httpx.Client(base_url=base) as client:
        assert client.get(f"/confirm/{token}").status_code == 200
    time.sleep(1.1)
    app = create_app(
        store=open_store(config),
        site=config.site,
        signer=Signer(KEY),
        env=template_env(config),
        settings=WebSettings(
            (Offer("china-russia", "The weekly China-Russia digest"),),
            "china-russia",
            confirm_hours=0,
        ),
        request_confirmation=lambda email, categories: None,
        clock=lambda: NOW,
        ticks=time.monotonic,
    )
    with serving(config, app) as base, httpx.Client(base_url=base) as client:
        response = client.get(f"/confirm/{token}")
        assert response.status_code == 400 and "expired" in response.text


OFFERED = (Offer("china-russia", "The weekly China-Russia digest"),)


def test_links_sent_before_subscriber_ids_work_until_their_date(project: Path) -> None:
    from datetime import timedelta

    from newsletter.subscribers import add
    from newsletter.tokens import LEGACY_UNTIL

    config = make_config(project)
    engine = open_store(config)
    add(engine, "a@example.com", ["China-Russia"], "test", NOW, confirmed=True)
    old = f"/unsubscribe/{Signer(KEY).sign('unsubscribe', 'a@example.com')}"  # the address

    def app_at(when: datetime) -> Starlette:
        return create_app(
            store=engine, site=config.site, signer=Signer(KEY), env=template_env(config),
            settings=WebSettings(OFFERED, "china-russia"),
            request_confirmation=lambda email, categories: None, clock=lambda: when,
            ticks=time.monotonic,
        )  # fmt: skip

    with serving(config, app_at(LEGACY_UNTIL + timedelta(days=1))) as base:
        assert httpx.get(base + old).status_code == 400
    with serving(config, app_at(NOW)) as base:
        answer = httpx.post(base + old, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
    assert find_subscriber(engine, "a@example.com").status == "unsubscribed"  # type: ignore[union-attr]


def test_no_get_changes_state(project: Path) -> None:
    config = make_config(project)
    from newsletter.subscribers import add

    engine = open_store(config)
    add(engine, "a@example.com", ["China-Russia"], "test", NOW, confirmed=True)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        for path in (link(config, "unsubscribe"), link(config, "preferences")):
            assert client.get(path).status_code == 200
            assert client.head(path).status_code in (200, 405)
    assert find_subscriber(engine, "a@example.com").status == "confirmed"  # type: ignore[union-attr]


def test_preferences_change_categories(project: Path) -> None:
    config = make_config(project)
    from newsletter.subscribers import add

    engine = open_store(config)
    add(engine, "a@example.com", ["China-Russia"], "test", NOW, confirmed=True)
    path = link(config, "preferences")
    with serving(config) as base, httpx.Client(base_url=base) as client:
        page = client.get(path)
        assert 'value="china-russia" checked' in page.text
        cleared = client.post(path, data={"csrf": csrf_of(page.text)})
        assert "You are unsubscribed" in cleared.text
    assert find_subscriber(engine, "a@example.com").status == "unsubscribed"  # type: ignore[union-attr]


def test_feeds_are_served_with_validators_and_gzip(project: Path) -> None:
    config = make_config(project)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        expected = {
            "/feeds/all.atom.xml": "application/atom+xml; charset=utf-8",
            "/feeds/all.rss.xml": "application/rss+xml; charset=utf-8",
            "/feeds/all.json": "application/feed+json; charset=utf-8",
            "/": "text/html; charset=utf-8",
            "/newsletter/2022-W37-china-russia.html": "text/html; charset=utf-8",
            "/category/china-russia/": "text/html; charset=utf-8",
            "/favicon.ico": "image/vnd.microsoft.icon",  # what readers ask for unprompted
            "/apple-touch-icon.png": "image/png",
        }
        for path, media_type in expected.items():
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"] == media_type, path
            assert "max-age" in response.headers["cache-control"]
        first = client.get("/feeds/all.atom.xml")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert client.get("/feeds/all.atom.xml", headers={"if-none-match": etag}).status_code == 304
        assert (
            client.get("/feeds/all.atom.xml", headers={"if-modified-since": modified}).status_code
            == 304
        )
        raw = httpx.get(base + "/feeds/all.atom.xml", headers={"accept-encoding": "gzip"})
        assert raw.headers["content-encoding"] == "gzip"
        assert raw.content == (project / "public/feeds/all.atom.xml").read_bytes()
        with httpx.stream(
            "GET", base + "/feeds/all.atom.xml", headers={"accept-encoding": "gzip"}
        ) as stream:
            body = b"".join(stream.iter_raw())
        assert gzip.decompress(body) == (project / "public/feeds/all.atom.xml").read_bytes()
        missing = client.get("/no/such/page")
        assert missing.status_code == 404  # the site's own page, with its way back
        assert "Page not found" in missing.text and 'href="/"' in missing.text
        assert missing.headers["content-type"] == "text/html; charset=utf-8"


def test_security_headers_and_health(project: Path) -> None:
    config = make_config(project)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        for path in ("/subscribe", "/feeds/all.atom.xml", "/feeds/index.html", "/healthz"):
            headers = client.get(path).headers
            policy = headers["content-security-policy"]
            if path.endswith(".atom.xml"):  # its XSL stylesheet, from this site only
                assert policy.endswith("; script-src 'self'")
            else:
                assert "script-src" not in policy
            assert "default-src 'none'" in policy
            assert headers["x-content-type-options"] == "nosniff"
            assert headers["referrer-policy"] == "no-referrer"
        assert client.get("/healthz").text == "ok\n"
        long_address = "a" * 400 + "@example.com"
        assert subscribe(client, long_address).status_code == 400
        form_type = {"content-type": "application/x-www-form-urlencoded"}
        too_big = client.post("/subscribe", content=b"x" * 20000, headers=form_type)
        assert too_big.status_code == 413


def test_serve_refuses_without_the_secret_key(project: Path) -> None:
    from press.send import SendRefused

    config = load_config(project / "press.toml", {})
    with pytest.raises(SendRefused, match="PRESS_SECRET_KEY"):
        build_app(config)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_pages_fit_and_look_right(project: Path, width: int, tmp_path: Path) -> None:
    from tests.browser import screenshot, scroll_width

    config = make_config(project)
    signer = Signer(KEY)
    paths = [
        "/subscribe",
        "/confirm/" + signer.sign("confirm", confirm_subject(*pending(config), ["china-russia"])),
        link(config, "unsubscribe"),
    ]
    with serving(config) as base, httpx.Client(base_url=base) as client:
        css = client.get("/style.css").text
        for path in paths:
            html = client.get(path).text
            inlined = re.sub(r'<link rel="stylesheet"[^>]*>', f"<style>{css}</style>", html)
            assert scroll_width(inlined, width) <= width, path
        shot = screenshot(base + "/subscribe", tmp_path / f"subscribe-{width}.png", width, 900)
        assert shot.stat().st_size > 1000


def test_etags_come_from_the_bytes_one_for_each_form(project: Path) -> None:
    import hashlib
    import os

    config = make_config(project)
    feed = project / "public/feeds/all.atom.xml"
    with serving(config) as base, httpx.Client(base_url=base) as client:
        plain = client.get("/feeds/all.atom.xml", headers={"accept-encoding": "identity"})
        digest = hashlib.blake2b(feed.read_bytes()).hexdigest()[:32]
        assert plain.headers["etag"] == f'"{digest}"'  # the same wherever it is published
        assert plain.headers["vary"] == "Accept, Accept-Encoding"  # a browser gets XML
        zipped = httpx.get(base + "/feeds/all.atom.xml", headers={"accept-encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"] == f'"{digest}-gzip"'
        assert zipped.headers["vary"] == "Accept, Accept-Encoding"  # once, not once a layer
        for form, encoding in ((plain, "identity"), (zipped, "gzip")):
            again = client.get(
                "/feeds/all.atom.xml",
                headers={"if-none-match": form.headers["etag"], "accept-encoding": encoding},
            )
            assert again.status_code == 304
            assert again.headers["etag"] == form.headers["etag"]
            assert again.headers["vary"] == "Accept, Accept-Encoding"
        os.utime(feed, (1, 1))  # the same bytes written again: the same tag
        same = client.get("/feeds/all.atom.xml", headers={"accept-encoding": "identity"})
        assert same.headers["etag"] == plain.headers["etag"]
        feed.write_bytes(feed.read_bytes().replace(b"China Bystander", b"China Bystanders", 1))
        changed = client.get(
            "/feeds/all.atom.xml", headers={"if-none-match": plain.headers["etag"]}
        )
        assert changed.status_code == 200 and changed.headers["etag"] != plain.headers["etag"]
        stale = client.get(  # If-None-Match decides: a date that is new enough does not
            "/feeds/all.atom.xml",
            headers={"if-none-match": plain.headers["etag"], "if-modified-since": _far_future()},
        )
        assert stale.status_code == 200


def _far_future() -> str:
    return "Fri, 01 Jan 2100 00:00:00 GMT"


def test_a_feed_opened_in_a_browser_reads_as_a_page(project: Path, golden: Any) -> None:
    from tests.browser import dom

    config = make_config(project)
    public = project / "public"
    golden("feeds/feed.xsl", (public / "feeds/feed.xsl").read_bytes())
    with serving(config) as base:
        assert httpx.get(base + "/feeds/feed.xsl").headers["content-type"].startswith("text/xsl")
        browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
        reader = {"accept": "application/atom+xml, application/rss+xml;q=0.9, */*;q=0.1"}
        feed = base + "/feeds/all.atom.xml"
        assert (
            httpx.get(feed, headers=browser).headers["content-type"].startswith("application/xml")
        )
        assert (
            httpx.get(feed, headers=reader)
            .headers["content-type"]
            .startswith("application/atom+xml")
        )
        for path in ("/feeds/all.atom.xml", "/feeds/category/china-russia.rss.xml"):
            page = dom(base + path)  # under the site's CSP, as a reader's browser has it
            assert "This is a web feed." in page, path
            assert f'value="https://chinabystander.com{path}"' in page, path
            assert "Russia’s Fulsomeness Discomforts Its Firm Friend China" in page, path
            assert 'href="/style.css"' in page
    # What readers parse is the same as without the stylesheet.
    for path in ("feeds/all.atom.xml", "feeds/category/china-russia.rss.xml"):
        styled = (public / path).read_bytes()
        plain = b"\n".join(line for line in styled.split(b"\n") if b"xml-stylesheet" not in line)
        assert plain != styled
        assert feedparser.parse(styled) == feedparser.parse(plain)


def test_a_suppressed_address_gets_no_confirmation_and_the_same_answer(project: Path) -> None:
    from newsletter.store import set_status
    from newsletter.subscribers import add

    config = make_config(project)
    engine = open_store(config)
    for email, status in (("gone@example.com", "bounced"), ("spam@example.com", "complained")):
        add(engine, email, ["China-Russia"], "test", NOW, confirmed=True)
        assert set_status(engine, email, status, NOW)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        bodies = [
            subscribe(client, email).text.replace(email, "EMAIL")
            for email in ("new@example.com", "gone@example.com", "spam@example.com")
        ]
    assert bodies[0] == bodies[1] == bodies[2]  # nobody learns who is suppressed
    outbox = sorted(p.name for p in (project / "var" / "outbox").iterdir())
    assert outbox == ["confirm-new@example.com.eml"]  # never mailed: not even a link
