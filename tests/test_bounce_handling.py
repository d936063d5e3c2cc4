"""Acting on what comes back, for real: a digest goes out through a real SMTP server
with a return path of its own for each delivery; bounces and complaints written for those
addresses come back through `press bounces pipe` and `press bounces read`, and the
database says what they did, once each, even when the reader is killed mid-way."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.store import bounce_events, find_subscriber
from press.config import Config
from press.mail import open_store
from tests.smtp_server import smtp_server
from tests.test_delivery import KEY, configure, send_w37, subscribe

CORPUS = Path(__file__).parent / "data" / "bounces"
PRESS = str(Path(sys.executable).parent / "press")


def sent(project: Path, database_url: str, extra: str = "") -> tuple[Config, dict[str, str]]:
    """Five subscribers sent the W37 digest: each one's return path."""
    with smtp_server() as server:
        config = configure(project, server.url, extra, database_url)
        subscribe(config, 5)
        send_w37(config)
        return config, {m.recipients[0]: m.sender for m in server.handler.received}


def bounce(name: str, return_path: str, message_id: str = "") -> bytes:
    text = (CORPUS / name).read_text().replace("__RETURN_PATH__", return_path)
    text = text.replace("__MESSAGE_ID__", "<sent@chinabystander.com>")
    if message_id:  # another message of the same kind: its own id
        text = text.replace("Message-Id: <", f"Message-Id: <{message_id}.", 1)
        text = text.replace("Message-ID: <", f"Message-ID: <{message_id}.", 1)
    return text.encode()


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def press(project: Path, *args: str, stdin: bytes = b"") -> Ran:
    """The CLI in this process (CliRunner): as a mail server's pipe would run it, less the
    start-up of a new interpreter each time."""
    from click.testing import CliRunner

    from press.cli import main

    runner = CliRunner()
    config = ["--config", str(project / "press.toml")]
    result = runner.invoke(main, [*config, *args], input=stdin, env={"PRESS_SECRET_KEY": KEY})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def press_process(project: Path, *args: str, stdin: bytes = b"") -> Ran:
    """The CLI as its own process, as a mail server runs it."""
    environment = {**os.environ, "PRESS_SECRET_KEY": KEY}
    done = subprocess.run(
        [PRESS, *args], cwd=project, input=stdin.decode(), capture_output=True, text=True,
        env=environment, timeout=120,
    )  # fmt: skip
    return Ran(done.returncode, done.stdout, done.stderr)


def bounce_listener(project: Path, port: int) -> subprocess.Popen[str]:
    """``press bounces receive`` on ``port``, as a mail server's destination."""
    environment = {**os.environ, "PRESS_SECRET_KEY": KEY}
    return subprocess.Popen(
        [PRESS, "bounces", "receive", "--port", str(port)], cwd=project, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def status(config: Config, email: str) -> str:
    found = find_subscriber(open_store(config), email)
    assert found is not None
    return found.status


def test_a_hard_bounce_piped_in_suppresses_and_the_next_digest_skips(
    project: Path, database_url: str
) -> None:
    config, paths = sent(project, database_url, "bounce_limit = 1\n")
    victim = "reader00003@example.com"
    result = press_process(
        project, "bounces", "pipe", stdin=bounce("postfix-hard.eml", paths[victim])
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "read 1 message: 1 hard bounce; 1 now bounced"
    assert status(config, victim) == "bounced"
    assert all(status(config, e) == "confirmed" for e in paths if e != victim)
    again = press(project, "bounces", "pipe", stdin=bounce("postfix-hard.eml", paths[victim]))
    assert again.stdout.strip() == "read 1 message; 1 handled before"
    with smtp_server() as server:
        import re

        from press.config import load_config
        from press.digest import prepare
        from press.send import send_digest

        toml = project / "press.toml"
        toml.write_text(
            re.sub(r'(\[smtp\]\nurl = )"[^"]*"', rf'\1"{server.url}"', toml.read_text())
        )
        config = load_config(toml, {"PRESS_SECRET_KEY": KEY})
        run, _ = prepare(config, "2022-W36", None, datetime(2026, 1, 1, tzinfo=UTC))
        send_digest(config, run, open_store(config))
        assert victim not in server.handler.per_recipient()
        assert len(server.handler.per_recipient()) == 4


def test_a_complaint_unsubscribes_at_once_and_says_why(project: Path, database_url: str) -> None:
    config, paths = sent(project, database_url)
    victim = "reader00001@example.com"
    # An ARF report comes to the feedback-loop address, not the return path: the return
    # path is in the report.
    result = press(project, "bounces", "pipe", stdin=bounce("arf-complaint.eml", paths[victim]))
    assert "1 complaint; 1 unsubscribed for complaining" in result.stdout, result.stderr
    assert status(config, victim) == "complained"
    listed = press(project, "subscribers", "list", "--status", "complained")
    assert victim in listed.stdout and listed.stdout.count("@") == 1


def test_soft_bounces_suppress_after_their_limit(project: Path, database_url: str) -> None:
    extra = "soft_bounce_limit = 2\nsoft_bounce_days = 10\n"
    config, paths = sent(project, database_url, extra)
    victim = "reader00002@example.com"
    first = press(project, "bounces", "pipe", stdin=bounce("yahoo-soft.eml", paths[victim], "a"))
    assert first.stdout.strip() == "read 1 message: 1 soft bounce"
    assert status(config, victim) == "confirmed"
    second = press(project, "bounces", "pipe", stdin=bounce("yahoo-soft.eml", paths[victim], "b"))
    assert second.stdout.strip() == "read 1 message: 1 soft bounce; 1 now bounced"
    assert status(config, victim) == "bounced"


def test_forged_auto_replies_and_other_mail_change_nothing(
    project: Path, database_url: str
) -> None:
    config, paths = sent(project, database_url, "bounce_limit = 1\n")
    victim = "reader00004@example.com"
    messages = [
        (CORPUS / "forged.eml").read_bytes().replace(b"__MESSAGE_ID__", b"<x@y>"),
        bounce("vacation.eml", paths[victim]),
        bounce("outlook-auto-reply.eml", paths[victim]),
        bounce("human-reply.eml", paths[victim]),
        bounce("postfix-delayed.eml", paths[victim]),
    ]
    outputs = [press_process(project, "bounces", "pipe", stdin=messages[0])]
    outputs += [press(project, "bounces", "pipe", stdin=m) for m in messages[1:]]
    assert "naming no delivery press sent (ignored)" in outputs[0].stdout
    assert "names no delivery press sent" in outputs[0].stderr  # and logged
    assert [o.stdout.strip().split(": ", 1)[1] for o in outputs[1:]] == [
        "1 auto-reply", "1 auto-reply", "1 other", "1 delay notice",
    ]  # fmt: skip
    assert all(status(config, e) == "confirmed" for e in paths)


def test_the_pipe_without_the_secret_key_says_so(project: Path) -> None:
    result = subprocess.run(
        [PRESS, "bounces", "pipe"], cwd=project, input="From: x\n\nhi\n", capture_output=True,
        text=True, env={k: v for k, v in os.environ.items() if k != "PRESS_SECRET_KEY"},
    )  # fmt: skip
    assert result.returncode == 1 and "PRESS_SECRET_KEY is not set" in result.stderr


def maildir(folder: Path, messages: list[bytes]) -> Path:
    box = mailbox.Maildir(str(folder), create=True)
    for data in messages:
        box.add(data)
    box.close()
    return folder


def test_a_maildir_read_twice_handles_each_message_once(project: Path, database_url: str) -> None:
    config, paths = sent(project, database_url, "bounce_limit = 1\n")
    emails = sorted(paths)
    messages = [bounce("gmail-hard.eml", paths[emails[0]])] * 2  # the same message twice
    messages += [bounce("vacation.eml", paths[e], f"v{n}") for n, e in enumerate(emails)]
    folder = maildir(project / "Maildir", messages)
    first = press(project, "bounces", "read", str(folder))
    assert first.stdout.strip() == (
        "read 7 messages: 1 hard bounce, 5 auto-replies; 1 now bounced, 1 handled before"
    )
    second = press(project, "bounces", "read", str(folder))
    assert second.stdout.strip() == "read 7 messages; 7 handled before"
    assert status(config, emails[0]) == "bounced"
    broken = press(project, "bounces", "read", str(project / "posts"))
    assert broken.returncode == 1 and "not a Maildir" in broken.stderr


@pytest.mark.slow
@pytest.mark.parametrize("point", ["bounces:read@150", "bounces:handled@150", "bounces:read@1"])
def test_killed_while_reading_then_read_again_handles_each_once(project: Path, point: str) -> None:
    config, paths = sent(project, "", "bounce_limit = 1\nsoft_bounce_limit = 1000\n")
    emails = sorted(paths)
    messages = [bounce("yahoo-soft.eml", paths[emails[n % 5]], f"s{n}") for n in range(400)]
    folder = maildir(project / "Maildir", messages)
    environment = {**os.environ, "PRESS_SECRET_KEY": KEY, "PRESS_KILL_AT": point}
    killed = subprocess.run(
        [PRESS, "bounces", "read", str(folder)], cwd=project, env=environment,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL
    engine = open_store(config)
    with engine.connect() as connection:
        done = connection.execute(select(func.count()).select_from(bounce_events)).scalar_one()
    expected = {"bounces:read@150": 149, "bounces:handled@150": 150, "bounces:read@1": 0}
    assert done == expected[point]
    started = time.monotonic()
    again = press(project, "bounces", "read", str(folder))
    assert again.returncode == 0, again.stderr
    handled_before = f"{done:,} handled before" if done else ""
    assert again.stdout.strip() == f"read 400 messages: {400 - done} soft bounces" + (
        f"; {handled_before}" if done else ""
    )
    with engine.connect() as connection:
        rows = connection.execute(select(func.count()).select_from(bounce_events)).scalar_one()
    assert rows == 400  # each message once
    print(f"400 messages read again in {time.monotonic() - started:.1f} s")


def test_the_migration_keeps_every_subscriber(database_url: str) -> None:

    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from newsletter.store import MIGRATIONS, connect, migrate

    engine = connect(database_url)
    alembic = AlembicConfig()
    alembic.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        alembic.attributes["connection"] = connection
        command.upgrade(alembic, "0004")  # the schema before this change, with people in it
    now = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        for n, state in enumerate(("pending", "confirmed", "unsubscribed", "bounced")):
            connection.execute(
                text(
                    "INSERT INTO subscribers (email, status, source, subscribed_at, hard_bounces,"
                    " version) VALUES (:e, :s, 'test', :t, :b, 0)"
                ),
                {"e": f"p{n}@example.com", "s": state, "t": now, "b": n},
            )
    migrate(engine)
    with engine.begin() as connection:
        rows = connection.execute(
            text("SELECT email, status, hard_bounces FROM subscribers ORDER BY email")
        ).all()
        assert [tuple(r) for r in rows] == [
            ("p0@example.com", "pending", 0), ("p1@example.com", "confirmed", 1),
            ("p2@example.com", "unsubscribed", 2), ("p3@example.com", "bounced", 3),
        ]  # fmt: skip
        connection.execute(text("UPDATE subscribers SET status = 'complained' WHERE id = 2"))
    engine.dispose()


def test_the_report_of_a_digest_reads_the_ledger(project: Path, database_url: str) -> None:
    import json

    from newsletter.store import set_status

    config, paths = sent(project, database_url, "bounce_limit = 1\n")
    emails = sorted(paths)
    press(project, "bounces", "pipe", stdin=bounce("outlook-hard.eml", paths[emails[0]]))
    press(project, "bounces", "pipe", stdin=bounce("yahoo-soft.eml", paths[emails[1]]))
    press(project, "bounces", "pipe", stdin=bounce("arf-complaint.eml", paths[emails[2]]))

    set_status(open_store(config), emails[3], "unsubscribed", datetime.now(UTC))
    result = press(project, "report", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["digest"] == "2022-W37-china-russia"
    assert {k: data[k] for k in ("recipients", "sent", "failed", "bounced_hard",
            "bounced_soft", "complained", "unsubscribed", "delivered")} == {
        "recipients": 5, "sent": 5, "failed": 0, "bounced_hard": 1, "bounced_soft": 1,
        "complained": 1, "unsubscribed": 1, "delivered": 3,
    }  # fmt: skip
    assert data["rates"]["complained"] == 0.2
    table = press(project, "report", "2022-W37-china-russia").stdout
    assert "bounced later, hard" in table and "20.00% of sent" in table
    missing = press(project, "report", "2022-W01-trade")
    assert missing.returncode == 1 and "no digest 2022-W01-trade in the ledger" in missing.stderr


def test_reactivate_mails_a_fixed_mailbox_again(project: Path, database_url: str) -> None:
    config, paths = sent(project, database_url, "bounce_limit = 1\nsoft_bounce_limit = 2\n")
    emails = sorted(paths)
    press(project, "bounces", "pipe", stdin=bounce("gmail-hard.eml", paths[emails[0]]))
    press(project, "bounces", "pipe", stdin=bounce("arf-complaint.eml", paths[emails[1]]))
    assert status(config, emails[0]) == "bounced"
    done = press(project, "subscribers", "reactivate", emails[0])
    assert done.returncode == 0 and status(config, emails[0]) == "confirmed"
    refused = press(project, "subscribers", "reactivate", emails[1])
    assert refused.returncode == 1 and "--despite-complaint" in refused.stderr
    assert status(config, emails[1]) == "complained"
    forced = press(project, "subscribers", "reactivate", emails[1], "--despite-complaint")
    assert forced.returncode == 0 and status(config, emails[1]) == "confirmed"
    not_bounced = press(project, "subscribers", "reactivate", emails[2])
    assert not_bounced.returncode == 1 and "is confirmed, not bounced" in not_bounced.stderr


def test_bounces_received_over_smtp_are_handled_before_the_answer(
    project: Path, database_url: str
) -> None:
    import smtplib

    from tests.servers import free_port

    config, paths = sent(project, database_url, "bounce_limit = 1\n")
    victim = "reader00000@example.com"
    port = free_port()
    listener = bounce_listener(project, port)
    try:
        deadline = time.monotonic() + 30
        while True:  # until it listens
            try:
                client = smtplib.SMTP("127.0.0.1", port, timeout=10)
                break
            except OSError:
                assert listener.poll() is None, listener.communicate()
                assert time.monotonic() < deadline, "the listener did not start"
                time.sleep(0.1)
        with client:
            data = bounce("postfix-hard.eml", paths[victim]).replace(b"\n", b"\r\n")
            # The mail server hands it on as it came: to the return path, from <>.
            refused = client.sendmail("", [paths[victim]], data)
            assert refused == {}
            assert status(config, victim) == "bounced"  # handled before the 250
            client.sendmail("", [paths[victim]], data)  # sent again: nothing more
            vacation = bounce("vacation.eml", paths["reader00001@example.com"])
            vacation = vacation.replace(b"\n", b"\r\n")
            client.sendmail("", ["bounces@chinabystander.com"], vacation)
    finally:
        listener.send_signal(signal.SIGTERM)
        out, err = listener.communicate(timeout=30)
    assert listener.returncode == 0, err
    assert out.strip() == (
        "read 3 messages: 1 hard bounce, 1 auto-reply; 1 now bounced, 1 handled before"
    )
    lines = [line for line in err.splitlines() if not line.startswith("press bounces receive")]
    assert [line.split(" (")[0] for line in lines] == [
        "hard: bounced",
        "duplicate",
        "auto-reply: ignored",
    ]  # a line a message handled, for the log


def test_mail_to_a_readers_own_unsubscribe_address_unsubscribes_them(
    project: Path, database_url: str
) -> None:
    from email import message_from_bytes

    with smtp_server() as server:
        config = configure(project, server.url, "", database_url)
        subscribe(config, 3)
        send_w37(config)
        headers = {
            m.recipients[0]: message_from_bytes(m.data)["List-Unsubscribe"]
            for m in server.handler.received
        }
    leaving = "reader00002@example.com"
    mailto = headers[leaving].split("<mailto:", 1)[1].split("?", 1)[0]
    assert len({h.split("<mailto:")[1] for h in headers.values()}) == 3  # one each
    # What Gmail sends when its reader clicks "Unsubscribe": from them, to that address.
    request = (
        f"From: <{leaving}>\nTo: <{mailto}>\nSubject: unsubscribe\n"
        "Message-ID: <unsub-1@mail.gmail.com>\n\nThis message was automatically generated.\n"
    ).encode()
    result = press(project, "bounces", "pipe", "--to", mailto, stdin=request)
    assert result.stdout.strip() == "read 1 message: 1 unsubscribe by email; 1 unsubscribed"
    assert status(config, leaving) == "unsubscribed"
    assert [status(config, e) for e in headers if e != leaving] == ["confirmed", "confirmed"]
    # Another reader's number with this one's signature is no address press made.
    number = mailto.split("@")[0].removeprefix("unsubscribe+").split("-")[0]
    forged = mailto.replace(f"+{number}-", f"+{int(number) + 1}-")
    other = request.replace(mailto.encode(), forged.encode()).replace(b"unsub-1", b"unsub-2")
    press(project, "bounces", "pipe", "--to", forged, stdin=other)
    assert [status(config, e) for e in headers if e != leaving] == ["confirmed", "confirmed"]
