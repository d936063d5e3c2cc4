"""The weekly digest is never lost and never sent twice, tried by really breaking things:
press run killed at many points, an SMTP server that is down or dies mid-send,
unsubscribes during a send, a worker paused past its lease, two sites on one server."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.ledger import find_digest
from newsletter.store import deliveries, set_status
from press.config import Config, load_config
from press.ledger import fired
from press.mail import open_store
from press.schedule import lock_key, run
from tests.servers import free_port
from tests.smtp_server import SmtpHandler, SmtpServer, smtp_server
from tests.test_delivery import subscribe
from tests.waiting import wait_for

KEY = "ledger test key, long enough to sign with"
PRESS = str(Path(sys.executable).parent / "press")
# A Monday at 07:00 in London (winter: UTC), and the week before it.
MONDAY = datetime(2026, 11, 23, 7, tzinfo=UTC)
WEEK = "2026-W47"


def configure(project: Path, smtp_url: str, extra: str = "", database_url: str = "") -> Config:
    """The bundled site, one China-Russia post in ``WEEK``, the digest on Mondays 07:00."""
    (project / "posts" / "in-w47.md").write_text(
        "---\ntitle: News Of The Week\ndate: 2026-11-18T09:00:00Z\n"
        "categories: [China-Russia]\n---\nTEXT.\n"
    )
    toml = project / "press.toml"
    storage = f'[storage]\nurl = "{database_url}"\n' if database_url else ""
    toml.write_text(
        toml.read_text()
        + f'\n{storage}[smtp]\nurl = "{smtp_url}"\n'
        + "[schedule]\npoll_seconds = 0.5\n"
        + "[delivery]\nconnections = 4\nbackoff = 0.02\n"
        + extra
    )
    return load_config(toml, {"PRESS_SECRET_KEY": KEY})


def test_the_schedule_fires_every_week_at_its_local_time(project: Path) -> None:
    config = load_config(project / "press.toml")
    times = fired(config, datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC))
    assert [(d.period, d.at.isoformat()) for d in times] == [
        ("2027-W11", "2027-03-22T07:00:00+00:00"),  # GMT
        ("2027-W12", "2027-03-29T07:00:00+01:00"),  # BST, after the clocks went forward
        ("2027-W13", "2027-04-05T07:00:00+01:00"),
    ]


def test_down_at_its_time_back_an_hour_later_it_goes_out_once(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    config = configure(project, f"smtp://127.0.0.1:{port}?starttls=no")
    emails = subscribe(config, 5)
    with caplog.at_level(logging.INFO, logger="press.run"):
        assert run(config, once=True, clock=lambda: MONDAY + timedelta(minutes=1)) is True
    assert any("takes no mail now" in r.message for r in caplog.records)
    handler = SmtpHandler()
    with smtp_server(handler, port=port):
        later = MONDAY + timedelta(hours=1)
        assert run(config, once=True, clock=lambda: later) is False
        assert run(config, once=True, clock=lambda: later + timedelta(minutes=5)) is False
    assert handler.per_recipient() == dict.fromkeys(emails, 1)
    record = find_digest(open_store(config), f"{WEEK}-china-russia")
    assert record is not None and record.finished_at is not None and record.due_at == MONDAY


def test_down_until_after_the_grace_it_is_skipped_and_never_sent(
    project: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    config = configure(project, f"smtp://127.0.0.1:{port}?starttls=no")
    subscribe(config, 5)
    assert run(config, once=True, clock=lambda: MONDAY + timedelta(minutes=1)) is True
    handler = SmtpHandler()
    with smtp_server(handler, port=port):
        past = MONDAY + timedelta(hours=13)  # grace_hours is 12
        with caplog.at_level(logging.INFO, logger="press.run"):
            assert run(config, once=True, clock=lambda: past) is False
            assert run(config, once=True, clock=lambda: past + timedelta(hours=1)) is False
    assert handler.received == []
    warnings = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"skipped digest {WEEK}-china-russia: not sent within")
    assert warnings[0].endswith("5 messages left unsent")
    engine = open_store(config)
    record = find_digest(engine, f"{WEEK}-china-russia")
    assert record is not None and record.skipped_at == past and record.finished_at is None
    with engine.connect() as connection:
        statuses = connection.execute(select(deliveries.c.status)).scalars().all()
    assert statuses == ["skipped"] * 5
    # By hand, later still: the ledger says so, and nothing goes.
    result = subprocess.run(
        [PRESS, "digest", "--week", WEEK, "--send"],
        cwd=project, capture_output=True, text=True, env={**os.environ, "PRESS_SECRET_KEY": KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"digest {WEEK}-china-russia was skipped on" in result.stdout


def due_a_minute_ago(project: Path, server: SmtpServer, database_url: str = "") -> Config:
    """A digest that fell due a minute ago (a post in the week before), for press run."""
    fire = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[fire.weekday()]
    when = (fire - timedelta(days=7)).isoformat()
    (project / "posts" / "last-week.md").write_text(
        f"---\ntitle: Last Week's News\ndate: {when}\ncategories: [China-Russia]\n---\nTEXT.\n"
    )
    toml = project / "press.toml"
    text = toml.read_text().replace('timezone = "Europe/London"', 'timezone = "UTC"')
    storage = f'[storage]\nurl = "{database_url}"\n' if database_url else ""
    toml.write_text(
        text + f'\n{storage}[smtp]\nurl = "{server.url}"\n'
        f'[schedule]\ndigest = "{day} {fire:%H:%M:%S}"\npoll_seconds = 0.5\n'
        "[delivery]\nconnections = 4\nbackoff = 0.02\nbatch = 50\n"
    )
    return load_config(toml, {"PRESS_SECRET_KEY": KEY})


@contextmanager
def press_run(project: Path, **environment: str) -> Iterator[subprocess.Popen[bytes]]:
    log = (project / "run.log").open("ab")
    process = subprocess.Popen(
        [PRESS, "run"], cwd=project, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PRESS_SECRET_KEY": KEY, **environment},
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        log.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "point", ["digest:due", "digest:freezing", "digest:frozen", "message:3", "message:120"]
)
def test_press_run_killed_at_any_point_of_the_digest_sends_it_once(
    project: Path, database_url: str, point: str
) -> None:
    """SIGKILL before the digest's row exists, inside the transaction that freezes the
    audience, after it, and mid-send (the server kills press run as a message arrives,
    before its 250 reply); after a restart everyone has the digest, once."""
    handler = SmtpHandler(delay=0.002)
    with smtp_server(handler) as server:
        config = due_a_minute_ago(project, server, database_url)
        emails = subscribe(config, 300)
        environment: dict[str, str] = {}
        if point.startswith("digest:"):
            environment["PRESS_KILL_AT"] = point
        with press_run(project, **environment) as first:
            if point.startswith("message:"):
                at = int(point.split(":")[1])
                handler.on_message = lambda n: n == at and first.send_signal(signal.SIGKILL)
            first.wait(timeout=60)
        handler.on_message = None
        assert first.returncode == -signal.SIGKILL
        key = f"{(datetime.now(UTC) - timedelta(days=7)).strftime('%G-W%V')}-china-russia"
        record = find_digest(open_store(config), key)
        if point in ("digest:due", "digest:freezing"):
            assert record is None  # died before the audience was frozen (or inside)
            assert handler.received == []
        else:
            assert record is not None and record.finished_at is None
        with press_run(project):
            wait_for(lambda: set(handler.per_recipient()) == set(emails), 60)
            wait_for(lambda: "finish" in _finished(config, key), 10)
        counts = handler.per_recipient()
        extra = sum(counts.values()) - len(emails)
        if point.startswith("digest:"):
            assert extra == 0
        else:
            assert 0 <= extra <= 4  # the messages in flight at the kill
        log = (project / "run.log").read_text()
        assert f"digest {key} is due" in log
        if point != "digest:due" and point != "digest:freezing":
            assert f"resuming digest {key}: " in log


def _finished(config: Config, key: str) -> str:
    record = find_digest(open_store(config), key)
    return "finished" if record is not None and record.finished_at else ""


@pytest.mark.slow
def test_a_server_that_dies_mid_send_stops_the_run_in_seconds_and_nothing_is_lost(
    project: Path,
) -> None:
    port = free_port()
    config = configure(project, f"smtp://127.0.0.1:{port}?starttls=no")
    toml = project / "press.toml"
    toml.write_text(toml.read_text().replace("backoff = 0.02", "backoff = 1.0"))  # the default
    emails = subscribe(config, 2000)
    handler = SmtpHandler(delay=0.002)
    environment = {**os.environ, "PRESS_SECRET_KEY": KEY}
    command = [PRESS, "digest", "--week", WEEK, "--send"]
    with smtp_server(handler, port=port):
        sender = subprocess.Popen(command, cwd=project, env=environment, stdout=subprocess.PIPE)
        wait_for(lambda: len(handler.received) >= 300, 60)
    died = time.monotonic()  # the server is gone: connections refused from now on
    out, _ = sender.communicate(timeout=120)
    stopped = time.monotonic() - died
    print(f"the send stopped {stopped:.1f} s after the SMTP server died")
    assert sender.returncode == 75
    assert stopped < 20
    assert b"the SMTP server takes no mail now" in out
    first = len(handler.received)
    assert first < 2000
    with smtp_server(handler, port=port):
        again = subprocess.run(command, cwd=project, env=environment, capture_output=True)
    assert again.returncode == 0, again.stderr
    assert b"resuming digest 2026-W47-china-russia: " in again.stdout
    counts = handler.per_recipient()
    assert sorted(counts) == emails
    assert sum(counts.values()) - len(emails) <= 4


@pytest.mark.slow
def test_who_unsubscribes_while_their_batch_is_being_sent_is_not_mailed(
    project: Path, database_url: str
) -> None:
    from press.pipeline import run_digest

    handler = SmtpHandler(delay=0.01)
    with smtp_server(handler) as server:
        config = configure(project, server.url, database_url=database_url)
        emails = subscribe(config, 1000)  # delivery.batch is 500: one batch in hand
        leaving = emails[150:450]
        engine = open_store(config)
        left_at: list[float] = []

        def leave() -> None:
            wait_for(lambda: len(handler.received) >= 100, 60)
            for email in leaving:
                set_status(engine, email, "unsubscribed", MONDAY)
            left_at.append(time.monotonic())

        leaver = threading.Thread(target=leave)
        leaver.start()
        result = run_digest(config, WEEK, "send", MONDAY, say=lambda line: None)
        leaver.join()
    assert result.report is not None
    late = [r for r in handler.received if r.recipients[0] in leaving and r.at > left_at[0]]
    print(f"{len(late)} of {len(leaving)} leavers got the digest after they left")
    assert len(late) <= config.delivery.connections  # in flight as they left
    counts = handler.per_recipient()
    mailed_leavers = sum(1 for email in leaving if email in counts)
    assert result.report.skipped == len(leaving) - mailed_leavers
    assert all(counts[email] == 1 for email in emails if email not in leaving)


@pytest.mark.slow
def test_a_worker_paused_past_its_lease_sends_no_more_than_its_messages_in_flight(
    project: Path, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("workers on several machines are a PostgreSQL matter")
    from press.digest import prepare
    from press.send import queue_digest

    handler = SmtpHandler(delay=0.003)
    with smtp_server(handler) as server:
        config = configure(project, server.url, "lease_seconds = 3\nbatch = 200\n", database_url)
        emails = subscribe(config, 3000)
        engine = open_store(config)
        run_, _ = prepare(config, WEEK, None, MONDAY)
        assert queue_digest(config, run_, engine) == 3000
        logs = [(project / f"worker{n}.log").open("wb") for n in range(2)]
        environment = {**os.environ, "PRESS_SECRET_KEY": KEY}
        command = [PRESS, "deliver", "--worker", "--until-empty"]
        paused = subprocess.Popen(command, cwd=project, env=environment, stderr=logs[0])
        wait_for(lambda: len(handler.received) >= 50, 60)
        other = subprocess.Popen(command, cwd=project, env=environment, stderr=logs[1])
        paused.send_signal(signal.SIGSTOP)  # a VM pause: its leases run out
        time.sleep(8)
        paused.send_signal(signal.SIGCONT)
        assert other.wait(timeout=300) == 0
        assert paused.wait(timeout=300) == 0
        for log in logs:
            log.close()
    counts = handler.per_recipient()
    assert sorted(counts) == emails  # nobody missing
    extra = sum(counts.values()) - len(emails)
    print(f"3,000 messages, one worker paused 8 s past a 3 s lease: {extra} sent twice")
    assert 0 <= extra <= config.delivery.connections
    assert "lost its lease" in (project / "worker0.log").read_text()


def test_two_sites_on_one_postgresql_each_run_their_scheduler(
    tmp_path: Path, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("one PostgreSQL server shared by two sites")
    import shutil
    import uuid

    import psycopg

    from tests.conftest import POSTGRES, ROOT

    conninfo = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    schema = f"press_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    sites = []
    try:
        other = f"{POSTGRES}?options=-csearch_path%3D{schema}"
        for name, url in (("one", database_url), ("two", other)):
            site = tmp_path / name
            shutil.copytree(ROOT / "posts", site / "posts")
            shutil.copytree(ROOT / "templates", site / "templates")
            text = (ROOT / "press.toml").read_text()
            (site / "press.toml").write_text(text + f'\n[storage]\nurl = "{url}"\n')
            sites.append(site)
        with press_run(sites[0]) as one, press_run(sites[1]) as two:
            for site in sites:
                wait_for(
                    lambda s=site: (
                        "next: the weekly China-Russia digest" in (s / "run.log").read_text()
                    ),
                    60,
                )
            assert one.poll() is None and two.poll() is None
    finally:
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert lock_key("test.public") != lock_key("test.press_test_x")
