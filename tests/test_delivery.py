"""Subscribers and delivery against a real SMTP server (aiosmtpd) and a real database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from newsletter.ledger import delivery_counts, open_digest
from newsletter.store import connect, deliveries, digests, find_subscriber, migrate
from newsletter.subscribers import add, export_csv, import_csv
from newsletter.tokens import Signer
from press.config import Config, load_config
from press.digest import prepare
from press.mail import open_store
from press.send import SendRefused, send_digest
from tests.smtp_server import SmtpHandler, SmtpServer, smtp_server

NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "test secret key, long enough to sign with"


def configure(project: Path, smtp_url: str, extra: str = "", database_url: str = "") -> Config:
    toml = project / "press.toml"
    storage = f'\n[storage]\nurl = "{database_url}"\n' if database_url else ""
    toml.write_text(
        toml.read_text()
        + storage
        + f'\n[smtp]\nurl = "{smtp_url}"\n'
        + "\n[delivery]\nbackoff = 0.02\nconnections = 4\n"
        + extra
    )
    return load_config(toml, {"PRESS_SECRET_KEY": KEY})


def subscribe(config: Config, count: int, category: str = "China-Russia") -> list[str]:
    emails = [f"reader{i:05}@example.com" for i in range(count)]
    rows = "email\n" + "\n".join(emails) + "\n"
    report = import_csv(open_store(config), rows, [category], "test", NOW)
    assert report.imported == count
    return emails


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with smtp_server() as running:
        yield running


def send_w37(config: Config) -> object:
    run, _ = prepare(config, "2022-W37", None, NOW)
    return send_digest(config, run, open_store(config))


def test_migrations_from_an_empty_database(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine)
    migrate(engine)  # a second time changes nothing
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "subscribers",
        "subscriptions",
        "subscription_categories",
        "newsletter_posts",
        "digests",
        "deliveries",
        "alembic_version",
    } <= tables


def test_the_head_revision_is_alembics_and_an_older_database_still_migrates(
    database_url: str,
) -> None:
    """``migrate`` skips Alembic for a database at the head, which it knows from the
    migrations' file names: they must agree with Alembic's own reading, and a database
    a revision behind must still be brought up."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from newsletter.store import MIGRATIONS, head_revision

    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(alembic)
    assert head_revision() == script.get_current_head()
    for revision in script.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name.startswith(f"{revision.revision}_")
    engine = connect(database_url)
    migrate(engine)
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.downgrade(alembic, "-1")
    migrate(engine)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert version == head_revision() and "newsletter_posts" in tables


@pytest.mark.slow
def test_a_thousand_subscribers_get_one_message_each(
    project: Path, server: SmtpServer, database_url: str
) -> None:
    config = configure(project, server.url, database_url=database_url)
    emails = subscribe(config, 1000)
    report = send_w37(config)
    assert (report.sent, report.failed, report.left) == (1000, 0, 0)  # type: ignore[attr-defined]
    counts = server.handler.per_recipient()
    assert sorted(counts) == emails and set(counts.values()) == {1}
    signer = Signer(KEY)
    for received in server.handler.received[:50]:
        message = received.message()
        [to] = received.recipients
        assert message["To"] == to
        assert message["Subject"].startswith("China-Russia this week: ")
        token = message["List-Unsubscribe"].split("/unsubscribe/")[1].split(">")[0]
        subscriber = find_subscriber(open_store(config), to)
        assert subscriber is not None
        assert signer.verify("unsubscribe", token) == f"s{subscriber.id}"  # their own link
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    again = send_w37(config)
    assert again.sent == 0  # type: ignore[attr-defined]
    assert len(server.handler.received) == 1000


def test_deferred_recipients_get_exactly_one(project: Path, database_url: str) -> None:
    handler = SmtpHandler(
        defer={"reader00003@example.com": 2, "reader00007@example.com": 1}, pipelining=True
    )
    with smtp_server(handler) as server:
        config = configure(project, server.url, database_url=database_url)
        emails = subscribe(config, 20)
        report = send_w37(config)
        assert report.sent == 20  # type: ignore[attr-defined]
        assert server.handler.per_recipient() == dict.fromkeys(emails, 1)


def test_a_server_that_keeps_deferring_leaves_the_rest_queued(
    project: Path, database_url: str
) -> None:
    handler = SmtpHandler(defer={"reader00001@example.com": 99})
    with smtp_server(handler) as server:
        config = configure(project, server.url, database_url=database_url)
        subscribe(config, 5)
        report = send_w37(config)
        assert (report.sent, report.deferred, report.left) == (4, 1, 1)  # type: ignore[attr-defined]
        handler.defer.clear()
        again = send_w37(config)
        assert (again.sent, again.left) == (1, 0)  # type: ignore[attr-defined]
        assert set(server.handler.per_recipient().values()) == {1}


def test_a_rejected_recipient_fails_and_the_others_go(project: Path, database_url: str) -> None:
    handler = SmtpHandler(reject={"reader00002@example.com"})
    with smtp_server(handler) as server:
        config = configure(project, server.url, "bounce_limit = 1\n", database_url)
        subscribe(config, 10)
        report = send_w37(config)
        assert (report.sent, report.failed, report.bounced) == (9, 1, 1)  # type: ignore[attr-defined]
        assert report.failures == [("reader00002@example.com", "550 5.1.1 No such user here")]  # type: ignore[attr-defined]
        subscriber = find_subscriber(open_store(config), "reader00002@example.com")
        assert subscriber is not None and subscriber.status == "bounced"
        assert "reader00002@example.com" not in server.handler.per_recipient()


def test_a_server_that_is_down_leaves_everyone_queued_until_it_is_back(project: Path) -> None:
    from tests.servers import free_port

    port = free_port()
    config = configure(project, f"smtp://127.0.0.1:{port}?starttls=no")
    emails = subscribe(config, 3)
    report = send_w37(config)
    assert report.sent == 0 and report.left == 3  # type: ignore[attr-defined]
    assert re.search(r"SMTP server 127\.0\.0\.1:\d+: .*check smtp.url", report.outage)  # type: ignore[attr-defined]
    with open_store(config).connect() as connection:  # the audience is frozen, all queued
        assert connection.execute(select(func.count()).select_from(digests)).scalar() == 1
        statuses = connection.execute(select(deliveries.c.status)).scalars().all()
        assert statuses == ["queued"] * 3
    handler = SmtpHandler()
    with smtp_server(handler, port=port):
        report = send_w37(config)
    assert report.sent == 3 and not report.outage  # type: ignore[attr-defined]
    assert handler.per_recipient() == dict.fromkeys(emails, 1)


def test_sending_needs_the_real_secret_key(project: Path, server: SmtpServer) -> None:
    config = configure(project, server.url)
    without = load_config(config.path, {})
    subscribe(without, 2)
    with pytest.raises(SendRefused, match="PRESS_SECRET_KEY is not set"):
        send_w37(without)
    assert server.handler.received == []


def test_no_smtp_server_points_to_the_outbox(project: Path) -> None:
    config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
    with pytest.raises(SendRefused, match="--outbox"):
        send_w37(config)


def test_who_unsubscribes_during_the_send_is_skipped(
    project: Path, server: SmtpServer, database_url: str
) -> None:
    from newsletter.store import set_status

    config = configure(project, server.url, database_url=database_url)
    subscribe(config, 4)
    engine = open_store(config)
    run, _ = prepare(config, "2022-W37", None, NOW)
    digest_id, _ = open_digest(engine, run.digest.key, "china-russia", "2022-W37", "s", NOW)
    set_status(engine, "reader00001@example.com", "unsubscribed", NOW)  # after the freeze
    add(engine, "late@example.com", ["China-Russia"], "test", NOW, confirmed=True)
    report = send_digest(config, run, engine)
    assert (report.sent, report.skipped) == (3, 1)
    assert sorted(server.handler.per_recipient()) == [
        "reader00000@example.com", "reader00002@example.com", "reader00003@example.com",
    ]  # fmt: skip
    assert delivery_counts(engine, digest_id) == {"queued": 0, "sent": 3, "failed": 0, "skipped": 1}


def test_only_the_digests_category_is_mailed(
    project: Path, server: SmtpServer, database_url: str
) -> None:
    config = configure(project, server.url, database_url=database_url)
    subscribe(config, 2)
    engine = open_store(config)
    add(engine, "trade@example.com", ["Trade"], "test", NOW, confirmed=True)
    add(engine, "pending@example.com", ["China-Russia"], "test", NOW)
    send_w37(config)
    assert sorted(server.handler.per_recipient()) == [
        "reader00000@example.com",
        "reader00001@example.com",
    ]


SENDER = """
import sys
from datetime import UTC, datetime
from press.config import load_config
from press.digest import prepare
from press.mail import open_store
from press.send import send_digest

config = load_config(sys.argv[1], {"PRESS_SECRET_KEY": "test secret key, long enough to sign with"})
run, _ = prepare(config, "2022-W37", None, datetime(2026, 1, 1, tzinfo=UTC))
print("starting", flush=True)
send_digest(config, run, open_store(config))
print("done", flush=True)
"""


def kill_mid_send(project: Path, handler: SmtpHandler, server: SmtpServer, at: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(project / "press.toml")],
        cwd=project,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    deadline = time.monotonic() + 60
    while len(handler.received) < at and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, "the sender finished before the kill"


@pytest.mark.parametrize("at", [1, 150, 420])
@pytest.mark.slow
def test_killed_mid_send_then_rerun_sends_everyone_once(
    project: Path, at: int, database_url: str
) -> None:
    handler = SmtpHandler(delay=0.002)
    with smtp_server(handler) as server:
        config = configure(project, server.url, database_url=database_url)
        emails = subscribe(config, 500)
        kill_mid_send(project, handler, server, at)
        before = len(handler.received)
        assert at <= before < 500
        report = send_w37(config)
        counts = handler.per_recipient()
        assert sorted(counts) == emails  # nobody missing
        extra = sum(counts.values()) - len(emails)
        assert 0 <= extra <= config.delivery.connections  # the in-flight bound
        assert report.left == 0  # type: ignore[attr-defined]


def test_import_reports_bad_rows_and_imports_the_rest(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine)
    add(engine, "gone@example.com", ["China-Russia"], "test", NOW, confirmed=True)
    from newsletter.store import set_status

    set_status(engine, "gone@example.com", "unsubscribed", NOW)
    text = (
        "email,status,categories\n"
        "good@example.com,,China-Russia;Trade\n"
        "not an address,,\n"
        "Good@Example.com,,\n"
        "gone@example.com,confirmed,\n"
        "weird@example.com,maybe,\n"
        "blocked@example.com,unsubscribed,\n"
        "@example.com,,\n"
    )
    report = import_csv(engine, text, ["China-Russia"], "import", NOW)
    assert report.imported == 2
    assert [line for line, _ in report.problems] == [3, 6, 8]
    assert "not an address" in report.problems[0][1]
    assert [line for line, _ in report.skipped] == [4, 5]
    good = find_subscriber(engine, "good@example.com")
    assert good is not None and good.newsletters == ("china-russia", "trade")
    assert good.status == "confirmed"
    gone = find_subscriber(engine, "gone@example.com")
    assert gone is not None and gone.status == "unsubscribed"  # never mailed again
    blocked = find_subscriber(engine, "blocked@example.com")
    assert blocked is not None and blocked.status == "unsubscribed"
    exported = "".join(export_csv(engine)).splitlines()
    engine.dispose()
    assert (
        exported[0] == "email,status,newsletters,source,subscribed_at,confirmed_at,unsubscribed_at"
    )
    assert len(exported) == 4


def test_import_is_all_or_nothing(database_url: str) -> None:
    engine = connect(database_url)
    migrate(engine)
    text = "email\n" + "\n".join(f"r{i}@example.com" for i in range(100)) + "\n"

    class Boom(Exception):
        pass

    import newsletter.subscribers as subscribers_module

    real = subscribers_module.insert_subscriber
    calls = 0

    def failing(*args: object, **kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 60:
            raise Boom
        return real(*args, **kwargs)  # type: ignore[arg-type]

    subscribers_module.insert_subscriber = failing  # type: ignore[assignment]
    try:
        with pytest.raises(Boom):
            import_csv(engine, text, ["China-Russia"], "import", NOW)
    finally:
        subscribers_module.insert_subscriber = real
    assert "".join(export_csv(engine)).count("\n") == 1  # header only: nothing half-imported
    engine.dispose()


def test_dkim_signature_verifies(project: Path, server: SmtpServer) -> None:
    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (project / "dkim.pem").write_bytes(pem)
    config = configure(project, server.url, '\n[dkim]\nselector = "press"\nkey_file = "dkim.pem"\n')
    subscribe(config, 2)
    send_w37(config)
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"press._domainkey.chinabystander.com."
        return record

    for received in server.handler.received:
        assert received.data.startswith(b"DKIM-Signature:")
        assert dkim.verify(received.data, dnsfunc=dns)
        header = received.data.split(b"\r\n\r\n")[0].decode()
        signed = header.split(" h=")[1].split(";")[0].replace("\r\n", "").replace(" ", "")
        for name in (
            "from",
            "to",
            "subject",
            "date",
            "message-id",
            "list-unsubscribe",
            "list-unsubscribe-post",
        ):
            assert name in signed.split(":")
        tampered = received.data.replace(b"Subject: China", b"Subject: Chino", 1)
        assert not dkim.verify(tampered, dnsfunc=dns)
        # Oversigned: a copy of a signed header added anywhere breaks the signature.
        for added in (
            b"List-Unsubscribe: <https://evil.example/u>\r\n",
            b"Subject: Win a prize\r\n",
            b"From: someone@evil.example\r\n",
        ):
            signature, rest = received.data.split(b"\r\nFrom:", 1)
            above = signature + b"\r\n" + added.rstrip(b"\r\n") + b"\r\nFrom:" + rest
            head, body = received.data.split(b"\r\n\r\n", 1)
            below = head + b"\r\n" + added.rstrip(b"\r\n") + b"\r\n\r\n" + body
            assert not dkim.verify(above, dnsfunc=dns), added
            assert not dkim.verify(below, dnsfunc=dns), added


@pytest.mark.slow
def test_several_processes_share_one_digest(project: Path, database_url: str) -> None:
    handler = SmtpHandler(reject={"reader00002@example.com"})
    with smtp_server(handler) as server:
        config = configure(project, server.url, "processes = 2\nbounce_limit = 1\n", database_url)
        emails = subscribe(config, 600)
        report = send_w37(config)
        assert (report.sent, report.failed, report.bounced, report.left) == (599, 1, 1, 0)  # type: ignore[attr-defined]
        assert report.failures == [("reader00002@example.com", "550 5.1.1 No such user here")]  # type: ignore[attr-defined]
        counts = server.handler.per_recipient()
        assert sorted(counts) == [e for e in emails if e != "reader00002@example.com"]
        assert set(counts.values()) == {1}
        assert send_w37(config).sent == 0  # type: ignore[attr-defined]
        assert len(server.handler.received) == 599


def test_more_processes_than_connections_is_refused(project: Path, server: SmtpServer) -> None:
    config = configure(project, server.url, "processes = 5\n")
    subscribe(config, 3)
    with pytest.raises(SendRefused, match=r"more than delivery\.connections"):
        send_w37(config)
    assert server.handler.received == []
    with open_store(config).connect() as connection:  # refused before anything was queued
        assert connection.execute(select(func.count()).select_from(deliveries)).scalar() == 0


def test_a_message_that_cannot_be_composed_stops_the_run_and_loses_nothing(
    project: Path, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next messages are composed while the last ones are on the wire: an error
    there waits until those are answered and recorded, then stops the run; the rest stay
    queued and the next run sends each of them once."""
    from press.digest import DigestRun

    config = configure(project, server.url)
    emails = subscribe(config, 12)
    real = DigestRun.compose

    def broken(self: DigestRun, recipient: Any, dkim: Any = None) -> tuple[bytes, str]:
        if recipient.email == emails[6]:
            raise RuntimeError("a template error")
        return real(self, recipient, dkim)

    monkeypatch.setattr(DigestRun, "compose", broken)
    with pytest.raises(RuntimeError, match="a template error"):
        send_w37(config)
    first = server.handler.per_recipient()
    engine = open_store(config)
    with engine.connect() as connection:
        sent = set(
            connection.execute(
                select(deliveries.c.email).where(deliveries.c.status == "sent")
            ).scalars()
        )
    assert sent == set(first) and emails[6] not in sent  # every message on the wire recorded
    assert 4 <= len(sent) < 12
    monkeypatch.setattr(DigestRun, "compose", real)
    send_w37(config)
    counts = server.handler.per_recipient()
    assert sorted(counts) == emails and set(counts.values()) == {1}


def test_a_rounds_sent_marks_are_one_durable_commit_fenced_row_by_row(
    database_url: str,
) -> None:
    """The marks of one round go in one commit (on SQLite a FULL-synchronous one: on the
    disk when it returns, so a power cut cannot undo them and have them sent again), and
    a row whose lease is another sender's is not written, whatever the others do."""
    from datetime import timedelta

    from sqlalchemy import text

    from newsletter.deliveries import claim
    from newsletter.marks import Marks

    engine = connect(database_url)
    migrate(engine)
    for n in range(3):
        add(engine, f"reader{n}@example.com", ["china-russia"], "test", NOW, confirmed=True)
    digest_id, _ = open_digest(engine, "2022-W37-china-russia", "china-russia", "2022-W37",
                               "subject", NOW)  # fmt: skip
    rows = claim(engine, "me", 10, NOW, timedelta(minutes=2), digest_id)
    with engine.begin() as connection:  # the third is taken over by another sender
        connection.execute(
            deliveries.update().where(deliveries.c.id == rows[2].id).values(lease_owner="other")
        )
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    marks = Marks(connection)
    if marks.sqlite:
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    held = marks.sent_all([(r.id, "250 ok", f"<{r.id}@x>") for r in rows], "me", NOW)
    connection.close()
    assert held == [True, True, False]
    with engine.connect() as reading:
        statuses = dict(reading.execute(select(deliveries.c.id, deliveries.c.status)).all())
    engine.dispose()
    assert [statuses[r.id] for r in rows] == ["sent", "sent", "queued"]
