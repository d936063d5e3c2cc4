"""A real mail server bounces for real. Press hands the digest to Debian's Postfix; Postfix
relays it to a destination that refuses one reader (550) and defers another (451) a few
times before taking it; Postfix writes its own delivery status notifications to each
delivery's return path, and its transport table routes the bounce address (as the README
says) to `press bounces receive`. No bounce here is written by a test: they are what
Postfix sends. The listener starts only after the bounces are written: Postfix keeps them
queued until it answers, so a receiver that was down loses nothing."""

from __future__ import annotations

import json
import signal
import smtplib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.store import bounce_events, connect, find_subscriber
from press.config import load_config
from press.digest import prepare
from press.mail import open_store
from press.send import send_digest
from tests.postfix import postfix_relay
from tests.servers import CuttableProxy, free_ports
from tests.smtp_server import SmtpHandler, smtp_server
from tests.test_bounce_handling import bounce_listener, press, status
from tests.test_delivery import KEY, configure, send_w37, subscribe
from tests.waiting import wait_for

pytestmark = pytest.mark.slow

HARD = "reader00001@example.com"
LATE = "reader00002@example.com"  # delayed, then delivered


def test_postfix_bounces_reach_press_and_the_next_digest_skips_the_dead_address(
    project: Path,
) -> None:
    # Three ports, distinct: the bounces' (bound later, by the listener) must be no other.
    listening, sink_port, relay_port = free_ports(3)
    destination = SmtpHandler(reject={HARD}, defer={LATE: 4})
    with (
        smtp_server(destination, sink_port) as sink,
        postfix_relay(
            relay_port,
            {"bounces@chinabystander.com": f"127.0.0.1:{listening}", "*": f"127.0.0.1:{sink.port}"},
        ) as relay,
    ):
        config = configure(project, relay.url, "bounce_limit = 1\n")
        emails = subscribe(config, 4)
        report = send_w37(config)
        assert (report.sent, report.bounced) == (4, 0)  # Postfix took all four
        # The destination refused one and took the late one at its fifth try; Postfix
        # cannot yet hand on its two notifications (the bounce and the delay), and keeps them.
        wait_for(lambda: len(destination.received) == 3, timeout=60)
        assert "sender delay notification" in relay.logged()
        waiting = f"connect to 127.0.0.1[127.0.0.1]:{listening}: Connection refused"
        wait_for(lambda: relay.logged().count(waiting) >= 2, timeout=60)
        assert status(config, HARD) == "confirmed"

        listener = bounce_listener(project, listening)
        try:
            wait_for(lambda: status(config, HARD) == "bounced", timeout=60)
            wait_for(lambda: "delayed" in listener_log(project), timeout=60)
        finally:
            listener.send_signal(signal.SIGTERM)
            out, err = listener.communicate(timeout=30)
        assert listener.returncode == 0, err
        assert out.strip() == "read 2 messages: 1 hard bounce, 1 delay notice; 1 now bounced", err
        assert {status(config, e) for e in emails if e != HARD} == {"confirmed"}

        report = json.loads(press(project, "report", "--json").stdout)
        assert {k: report[k] for k in ("sent", "bounced_hard", "bounced_soft", "delivered")} == {
            "sent": 4, "bounced_hard": 1, "bounced_soft": 0, "delivered": 3,
        }  # fmt: skip

        # The next digest, through the same Postfix: the bounced reader is not mailed.
        destination.received.clear()
        config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
        run, _ = prepare(config, "2022-W36", None, datetime(2026, 1, 1, tzinfo=UTC))
        send_digest(config, run, open_store(config))
        wait_for(lambda: len(destination.received) == 3, timeout=60)
        mailed = {r for m in destination.received for r in m.recipients}
        assert mailed == set(emails) - {HARD}


def listener_log(project: Path) -> str:
    """What the listener has handled so far, from the ledger's bounce events."""
    config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
    with open_store(config).connect() as connection:
        kinds = connection.execute(select(bounce_events.c.kind)).scalars().all()
    return " ".join(kinds)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_while_the_database_is_away_the_listener_answers_451_and_postfix_tries_again(
    project: Path, database_url: str
) -> None:
    def status_now(email: str) -> str:  # read past the proxy, whatever state it is in
        engine = connect(database_url)
        try:
            found = find_subscriber(engine, email)
            assert found is not None
            return found.status
        finally:
            engine.dispose()

    listening, sink_port, relay_port = free_ports(3)
    destination = SmtpHandler(reject={HARD})
    proxy = CuttableProxy(("127.0.0.1", 5432))
    with (
        smtp_server(destination, sink_port) as sink,
        postfix_relay(
            relay_port,
            {"bounces@chinabystander.com": f"127.0.0.1:{listening}", "*": f"127.0.0.1:{sink.port}"},
        ) as relay,
    ):
        config = configure(project, relay.url, "bounce_limit = 1\n", database_url)
        subscribe(config, 3)
        # The listener reaches PostgreSQL through the proxy.
        toml = project / "press.toml"
        toml.write_text(toml.read_text().replace(":5432/", f":{proxy.port}/"))
        listener = bounce_listener(project, listening)
        try:
            wait_for(lambda: answers(listening), timeout=30)
            proxy.cut()
            send_w37(config)
            refused = "said: 451 4.3.0 The database cannot be reached"
            wait_for(lambda: relay.logged().count(refused) >= 2, timeout=60)  # tried again
            assert status_now(HARD) == "confirmed"
            proxy.restore()
            wait_for(lambda: status_now(HARD) == "bounced", timeout=60)
            wait_for(lambda: "status=sent" in relay.logged().split(refused)[-1], timeout=30)
        finally:
            listener.send_signal(signal.SIGTERM)
            out, err = listener.communicate(timeout=30)
            proxy.close()
        assert listener.returncode == 0, err
        assert "the database cannot be reached" in err
        assert out.strip() == "read 1 message: 1 hard bounce; 1 now bounced", err


def answers(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.noop()
        return True
    except OSError:
        return False
