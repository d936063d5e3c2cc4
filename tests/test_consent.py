"""Consent held to the letter, over real HTTP (uvicorn) and a real SMTP server: RFC 8058
one-click in both encodings, no stale confirmations, bounded bodies, opaque tokens,
answers that do not tell who subscribes, pages that say the truth."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeSerializer

from newsletter.store import find_subscriber
from newsletter.subscribers import add
from newsletter.tokens import Signer, link_subject
from press.config import Config, load_config
from press.mail import open_store
from press.pipeline import run_digest
from tests.servers import free_port, press_serve
from tests.smtp_server import SmtpHandler, smtp_server
from tests.test_web import KEY, NOW, csrf_of, link_in, make_config, serving, subscribe
from tests.waiting import wait_for

PRESS = str(Path(sys.executable).parent / "press")


def reader(config: Config, email: str = "a@example.com") -> tuple[int, str, str]:
    """A confirmed subscriber: id, unsubscribe path, preferences path."""
    engine = open_store(config)
    add(engine, email, ["China-Russia"], "test", NOW, confirmed=True)
    found = find_subscriber(engine, email)
    assert found is not None
    signer = Signer(KEY)
    subject = link_subject(found.id)
    return (
        found.id,
        f"/unsubscribe/{signer.sign('unsubscribe', subject)}",
        f"/preferences/{signer.sign('preferences', subject)}",
    )


def status(config: Config, email: str = "a@example.com") -> str:
    found = find_subscriber(open_store(config), email)
    return found.status if found else "none"


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded", "no content type"])
def test_one_click_unsubscribes_in_every_encoding_rfc_8058_allows(
    project: Path, encoding: str
) -> None:
    config = make_config(project)
    _, path, _ = reader(config)
    with serving(config) as base, httpx.Client(base_url=base) as stranger:  # no cookie
        for _ in range(2):  # and again: idempotent
            if encoding == "multipart":  # what curl -F sends, and RFC 8058 says SHOULD
                answer = stranger.post(path, files={"List-Unsubscribe": (None, "One-Click")})
                assert answer.request.headers["content-type"].startswith("multipart/form-data")
            elif encoding == "urlencoded":
                answer = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
            else:
                answer = stranger.post(path, content=b"List-Unsubscribe=One-Click")
                assert "content-type" not in answer.request.headers
            assert answer.status_code == 200 and answer.text == "unsubscribed\n"
            assert status(config) == "unsubscribed"


def test_one_click_refuses_anything_but_its_one_key(project: Path) -> None:
    config = make_config(project)
    _, path, _ = reader(config)
    with serving(config) as base, httpx.Client(base_url=base) as stranger:
        for body in (
            {"List-Unsubscribe": "Yes"},
            {"List-Unsubscribe": "One-Click", "extra": "1"},
        ):
            assert stranger.post(path, data=body).status_code == 400
        twice = b"List-Unsubscribe=One-Click&List-Unsubscribe=One-Click"
        assert stranger.post(path, content=twice).status_code == 400
        forged = Signer("another key, long enough to sign with").sign("unsubscribe", "s1")
        answer = stranger.post(f"/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 400
    assert status(config) == "confirmed"


def test_an_old_confirmation_link_cannot_bring_back_someone_who_left(project: Path) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as smtp:
        config = make_config(project, smtp.url)
        with serving(config) as base, httpx.Client(base_url=base) as client:
            subscribe(client, "a@example.com")
            wait_for(lambda: len(handler.received) == 1)
            confirm = link_in(handler.received[0].data, "confirm")
            page = client.get(confirm)
            assert client.post(confirm, data={"csrf": csrf_of(page.text)}).status_code == 200
            assert status(config) == "confirmed"
            found = find_subscriber(open_store(config), "a@example.com")
            assert found is not None
            path = f"/unsubscribe/{Signer(KEY).sign('unsubscribe', link_subject(found.id))}"
            client.post(path, data={"List-Unsubscribe": "One-Click"})
            assert status(config) == "unsubscribed"
            again = client.post(confirm, data={"csrf": csrf_of(page.text)})
            assert again.status_code == 400 and "no longer works" in again.text
            assert status(config) == "unsubscribed"
        # Subscribing again (past the hour's cooldown: a new server) sends a new link.
        with serving(config) as base, httpx.Client(base_url=base) as client:
            subscribe(client, "a@example.com")
            wait_for(lambda: len(handler.received) == 2)
            fresh = link_in(handler.received[1].data, "confirm")
            page = client.get(fresh)
            assert client.post(fresh, data={"csrf": csrf_of(page.text)}).status_code == 200
            assert status(config) == "confirmed"


def test_the_links_in_a_digest_name_no_address(project: Path) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as smtp:
        config = make_config(project, smtp.url)
        reader(config, "reader.one@example.com")
        run_digest(config, "2022-W37", "send", NOW, say=lambda line: None)
    [message] = handler.received
    links = re.findall(rb"/(?:unsubscribe|preferences)/([\w.-]+)", message.data)
    assert links
    for token in {link.decode() for link in links}:
        payload = token.split(".")[0]
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert b"@" not in decoded and b"reader" not in decoded, decoded


def test_a_well_signed_token_with_a_bad_payload_gets_the_friendly_page(project: Path) -> None:
    config = make_config(project)
    signer = URLSafeSerializer(KEY, salt="bystander-press unsubscribe").make_signer()
    bad = signer.sign(b"!!not base64 json!!").decode()
    with serving(config) as base, httpx.Client(base_url=base) as client:
        answer = client.get(f"/unsubscribe/{bad}")
    assert answer.status_code == 400 and "This link does not work" in answer.text


def test_pages_say_the_subscribers_state_as_it_is(project: Path) -> None:
    config = make_config(project)
    _, unsubscribe, preferences = reader(config)
    with serving(config) as base, httpx.Client(base_url=base) as client:
        page = client.get(preferences)
        csrf = csrf_of(page.text)
        client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
        again = client.get(unsubscribe)
        assert "You are already unsubscribed" in again.text and "<button" not in again.text
        saved = client.post(preferences, data={"csrf": csrf, "category": "china-russia"})
        assert saved.status_code == 404 and "is not subscribed" in saved.text
        assert "Preferences saved" not in saved.text
    assert status(config) == "unsubscribed"


@pytest.mark.slow
def test_subscribing_answers_at_once_and_the_email_follows(project: Path) -> None:
    """The confirmation goes after the response: a slow mail server does not hold the
    answer up, and a new and a known address take the same path."""
    handler = SmtpHandler(delay=2.0)
    with smtp_server(handler) as smtp:
        config = make_config(project, smtp.url)
        reader(config, "known@example.com")
        with serving(config) as base, httpx.Client(base_url=base) as client:
            times = {}
            for email in ("new@example.com", "known@example.com"):
                start = time.monotonic()
                assert subscribe(client, email).status_code == 200
                times[email] = time.monotonic() - start
            print(f"answers: {times}")
            assert max(times.values()) < 1.0  # the SMTP server takes 2 s a message
            wait_for(lambda: len(handler.received) == 1, 15)
    assert handler.received[0].recipients == ["new@example.com"]


def test_a_confirmation_is_tried_again_while_the_mail_server_is_down(project: Path) -> None:
    from newsletter.confirm import ConfirmationQueue
    from newsletter.subscribers import request_subscription
    from press.send import send_confirmation

    port = free_port()
    config = make_config(project, f"smtp://127.0.0.1:{port}?starttls=no")
    engine = open_store(config)

    def send(email: str, categories: list[str]) -> None:
        subscriber = request_subscription(engine, email, categories, NOW)
        assert subscriber is not None
        send_confirmation(config, subscriber, categories, NOW, project / "outbox")

    confirmations = ConfirmationQueue(send, retries=(0.5, 0.5, 0.5, 0.5))
    confirmations.start()
    handler = SmtpHandler()
    try:
        confirmations("late@example.com", ["china-russia"])
        time.sleep(0.7)  # the first tries find no server
        with smtp_server(handler, port=port):
            wait_for(lambda: len(handler.received) == 1, 10)
    finally:
        confirmations.stop()
    assert handler.received[0].recipients == ["late@example.com"]


def declared_only(port: int, path: str, length: int) -> bytes:
    """The status line for a POST that declares a body of ``length`` and sends none."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode()
        )
        return connection.recv(200)


def peak_memory_mb(pid: int) -> float:
    status_text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmHWM:\s+(\d+) kB", status_text)
    assert match
    return int(match.group(1)) / 1024


def test_big_bodies_are_refused_before_they_are_read_and_tokens_stay_out_of_the_log(
    project: Path,
) -> None:
    config = make_config(project)
    _, unsubscribe, preferences = reader(config)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    paths = ["/subscribe", unsubscribe, preferences, "/confirm/x.y"]
    with press_serve(project, port, key=KEY) as server:
        before = peak_memory_mb(server.pid)
        for path in paths:
            assert declared_only(port, path, 300 << 20).startswith(b"HTTP/1.1 413 "), path

            def chunks() -> Iterator[bytes]:
                for _ in range(50 * 16):  # 50 MB in 64 KB chunks, no Content-Length
                    yield b"x" * 65536

            try:
                streamed = httpx.post(base + path, content=chunks(), timeout=30)
                assert streamed.status_code == 413, path
            except httpx.HTTPError:
                pass  # the server answered 413 and closed while the client still wrote
        after = peak_memory_mb(server.pid)
        print(f"press serve peak memory: {before:.0f} MB before, {after:.0f} MB after 4 × 50 MB")
        assert after - before < 20
        assert httpx.get(base + unsubscribe).status_code == 200
    log = (project / "serve.log").read_text()
    assert "GET /unsubscribe/… HTTP/1.1" in log
    token = unsubscribe.split("/")[-1]
    assert token not in log and token.split(".")[0] not in log
    assert status(config) == "confirmed"


def test_a_short_secret_key_is_refused_for_serve_and_send(project: Path) -> None:
    make_config(project, f"smtp://127.0.0.1:{free_port()}?starttls=no")
    environment = {**os.environ, "PRESS_SECRET_KEY": "short"}
    serve = ["serve", "--port", str(free_port())]
    for command in (serve, ["digest", "--week", "2022-W37", "--send"]):
        result = subprocess.run(
            [PRESS, *command], cwd=project, capture_output=True, text=True, env=environment,
            timeout=60,
        )  # fmt: skip
        assert result.returncode == 1, command
        assert "PRESS_SECRET_KEY is 5 characters: it must be at least 32" in result.stderr
        assert "secrets.token_urlsafe(32)" in result.stderr


def test_a_recipient_beyond_ascii_gets_a_to_header_that_reads_back(project: Path) -> None:
    from email import policy
    from email.parser import BytesParser, Parser

    handler = SmtpHandler()
    with smtp_server(handler, enable_SMTPUTF8=True) as smtp:
        config = make_config(project, smtp.url)
        address = "zoë.müller@example.com"
        reader(config, address)
        run_digest(config, "2022-W37", "send", NOW, say=lambda line: None)
    [message] = handler.received
    assert f"To: {address}\r\n".encode() in message.data  # raw UTF-8, RFC 6532
    parsed = BytesParser(policy=policy.default).parsebytes(message.data)
    assert str(parsed["To"]) == address
    text = Parser(policy=policy.default).parsestr(message.data.decode("utf-8"))
    assert text["To"].addresses[0].addr_spec == address
    assert b"=?utf-8?" not in message.data.split(b"\r\n\r\n")[0].split(b"\r\nTo:")[1][:80]


def test_subscribers_add_without_the_key_says_the_link_uses_the_development_key(
    project: Path,
) -> None:
    load_config(project / "press.toml", {})
    result = subprocess.run(
        [PRESS, "subscribers", "add", "b@example.com"], cwd=project, capture_output=True,
        text=True, env={k: v for k, v in os.environ.items() if k != "PRESS_SECRET_KEY"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "signed with the development key" in result.stderr


def test_a_failed_line_writes_a_stored_addresss_control_characters_as_escapes(
    project: Path,
) -> None:
    from newsletter.store import insert_subscriber

    with smtp_server() as smtp:
        config = make_config(project, smtp.url)
        with open_store(config).begin() as connection:
            forged = "x\r\nbcc@example.com"  # stored around press's checks
            insert_subscriber(connection, forged, "confirmed", ["china-russia"], "db", NOW)
        result = subprocess.run(
            [PRESS, "digest", "--week", "2022-W37", "--send"], cwd=project, capture_output=True,
            env={**os.environ, "PRESS_SECRET_KEY": KEY}, timeout=60,
        )  # fmt: skip
    assert b"failed: x\\r\\nbcc@example.com: " in result.stderr
    assert b"\r" not in result.stderr
