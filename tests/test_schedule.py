"""press run: new and due posts published, the weekly digest sent on time and once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from press.config import ConfigError, load_config
from press.ledger import newsletter_trigger
from press.schedule import run
from tests.conftest import LONDON
from tests.smtp_server import SmtpHandler, SmtpServer, smtp_server
from tests.test_delivery import subscribe
from tests.waiting import wait_for

KEY = "schedule test key, long enough to sign with"
POLL = 1.0


def settings(project: Path, extra: str = "", timezone: str = "UTC") -> None:
    toml = project / "press.toml"
    text = toml.read_text().replace('timezone = "Europe/London"', f'timezone = "{timezone}"')
    toml.write_text(text + f"\n[schedule]\npoll_seconds = {POLL}\n" + extra)


@contextmanager
def press_run(project: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    press = Path(sys.executable).parent / "press"
    log = (project / "run.log").open("a")
    process = subprocess.Popen(
        [str(press), "run", *args],
        cwd=project,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PRESS_SECRET_KEY": KEY},
    )
    try:
        wait_for(
            lambda: "next: the weekly China-Russia digest" in (project / "run.log").read_text(), 30
        )
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def titles(project: Path) -> list[str]:
    path = project / "public" / "feeds" / "all.atom.xml"
    return [e.title for e in feedparser.parse(path.read_bytes()).entries] if path.exists() else []


def post(
    project: Path, name: str, title: str, when: datetime, category: str = "China-Russia"
) -> None:
    (project / "posts" / name).write_text(
        f"---\ntitle: {title}\ndate: {when.isoformat()}\ncategories: [{category}]\n---\nTEXT.\n"
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Clocks go forward on 28 March 2027 and back on 31 October 2027.
        (datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 3, 22, 7, tzinfo=LONDON)),
        (datetime(2027, 3, 27, tzinfo=UTC), datetime(2027, 3, 29, 7, tzinfo=LONDON)),
        (datetime(2027, 10, 30, tzinfo=UTC), datetime(2027, 11, 1, 7, tzinfo=LONDON)),
        (datetime(2027, 10, 24, tzinfo=UTC), datetime(2027, 10, 25, 7, tzinfo=LONDON)),
    ],
)
def test_the_weekly_run_stays_at_seven_local_across_dst(
    project: Path, now: datetime, expected: datetime
) -> None:
    config = load_config(project / "press.toml")
    trigger = newsletter_trigger(config, config.newsletters[0])
    fire = trigger.get_next_fire_time(None, now)
    assert fire == expected
    assert (fire.hour, fire.minute) == (7, 0)
    assert fire.utcoffset() == expected.utcoffset()


def test_the_dst_hours_are_refused_for_the_weekly_run(project: Path) -> None:
    toml = project / "press.toml"
    toml.write_text(toml.read_text() + '\n[schedule]\ndigest = "sun 01:30"\n')
    with pytest.raises(ConfigError, match=r"schedule.digest: sun 01:30:00 falls in 01:00–03:00"):
        load_config(toml)
    settings(project, "", "UTC")  # a zone without clock changes may use any hour
    toml.write_text(toml.read_text().replace("[schedule]\npoll_seconds", "[sched]\npoll"))


@pytest.mark.slow
def test_new_posts_and_a_burst_of_saves(project: Path) -> None:
    settings(project)
    with press_run(project):
        assert len(titles(project)) == 10
        post(project, "new.md", "Brand New Post", datetime(2025, 1, 1, tzinfo=UTC))
        elapsed = wait_for(lambda: "Brand New Post" in titles(project), 10)
        print(f"new post in the feed after {elapsed:.2f} s (poll {POLL} s)")
        assert elapsed <= POLL + 1.0 + 0.5  # the poll interval plus a second, and some slack
        for i in range(10):  # a burst of saves
            post(project, "new.md", f"Edited {i}", datetime(2025, 1, 1, tzinfo=UTC))
            time.sleep(0.05)
        wait_for(lambda: "Edited 9" in titles(project), 10)
        time.sleep(POLL * 2)
    log = (project / "run.log").read_text()
    assert log.count("publish (posts changed)") == 2  # one for the new post, one for the burst


@pytest.mark.slow
def test_a_post_dated_ahead_appears_at_its_time(project: Path) -> None:
    settings(project)
    with press_run(project):
        when = datetime.now(UTC) + timedelta(seconds=4)
        post(project, "soon.md", "Due Soon", when)
        time.sleep(POLL + 1)
        assert "Due Soon" not in titles(project)
        wait_for(lambda: datetime.now(UTC) >= when, 10)
        elapsed = wait_for(lambda: "Due Soon" in titles(project), POLL + 3)
        print(f"due post in the feed {elapsed:.2f} s after its time")
    assert "a post came due" in (project / "run.log").read_text()


@pytest.mark.slow
def test_a_post_saved_while_press_run_starts_is_published(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import press.schedule

    settings(project)
    config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
    starting = press.schedule.newsletter_trigger  # asked for after the first publish

    def save_a_post(*args: object) -> object:
        post(project, "meanwhile.md", "Saved Meanwhile", datetime(2025, 1, 1, tzinfo=UTC))
        return starting(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(press.schedule, "newsletter_trigger", save_a_post)
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(config,), kwargs={"stop": stop})
    thread.start()
    try:
        wait_for(lambda: "Saved Meanwhile" in titles(project), POLL + 5)
    finally:
        stop.set()
        thread.join(30)


@pytest.mark.slow
def test_a_post_dated_ahead_comes_due_when_the_start_had_nothing_to_do(project: Path) -> None:
    # press publish saw the post first: press run starts on the fast path, which must
    # still know when the post comes due.
    settings(project)
    when = datetime.now(UTC) + timedelta(seconds=4)
    post(project, "soon.md", "Due Soon", when)
    subprocess.run([sys.executable, "-m", "press", "publish"], cwd=project, check=True)
    with press_run(project):
        wait_for(lambda: datetime.now(UTC) >= when, 10)
        wait_for(lambda: "Due Soon" in titles(project), POLL + 3)
    log = (project / "run.log").read_text()
    assert "publish (start): 0 written" in log and "a post came due" in log


@pytest.mark.slow
def test_a_second_press_run_is_refused(project: Path) -> None:
    settings(project)
    with press_run(project) as first:
        press = Path(sys.executable).parent / "press"
        second = subprocess.run(
            [str(press), "run"], cwd=project, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1
        assert (
            f"press run is already running on this database (process {first.pid})" in second.stderr
        )
    assert first.returncode == 0  # SIGTERM stops it cleanly


def digest_soon(
    project: Path, server: SmtpServer, seconds: int, database_url: str = ""
) -> datetime:
    """Subscribers, a post last week, and the weekly run a few seconds from now."""
    fire = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[fire.weekday()]
    storage = f'[storage]\nurl = "{database_url}"\n' if database_url else ""
    settings(
        project,
        f'digest = "{day} {fire:%H:%M:%S}"\n{storage}[smtp]\nurl = "{server.url}"\n'
        "[delivery]\nbackoff = 0.01\nconnections = 4\n",
    )
    post(project, "last-week.md", "Last Week's News", fire - timedelta(days=7))
    return fire


@pytest.mark.slow
def test_the_weekly_digest_goes_out_once(project: Path, database_url: str) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        fire = digest_soon(project, server, 6, database_url)
        config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
        emails = subscribe(config, 20)
        with press_run(project):
            wait_for(lambda: len(handler.received) >= 20, 30)
            assert datetime.now(UTC) >= fire
            time.sleep(1)
        with press_run(project):  # a restart does not send it again
            time.sleep(2)
        assert handler.per_recipient() == dict.fromkeys(emails, 1)
        subject = handler.received[0].message()["Subject"]
        assert subject == "China-Russia this week: Last Week's News"


@pytest.mark.slow
def test_a_restart_during_the_send_resumes_it(project: Path, database_url: str) -> None:
    handler = SmtpHandler(delay=0.01)
    with smtp_server(handler) as server:
        digest_soon(project, server, 5, database_url)
        config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
        emails = subscribe(config, 300)
        with press_run(project) as process:
            wait_for(lambda: len(handler.received) >= 60, 40)
            process.send_signal(signal.SIGKILL)
            process.wait()
        assert len(handler.received) < 300
        with press_run(project):
            wait_for(lambda: set(handler.per_recipient()) == set(emails), 60)
        counts = handler.per_recipient()
        assert sorted(counts) == emails
        assert sum(counts.values()) - len(emails) <= 4  # at most the messages in flight
        assert "resuming digest" in (project / "run.log").read_text()


@pytest.mark.slow
def test_a_missed_digest_within_grace_goes_out_at_start(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESS_SECRET_KEY", KEY)
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        fire = digest_soon(project, server, 2)
        config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
        emails = subscribe(config, 5)
        run(config, once=True)  # schedules the job, then the machine is down at its time
        wait_for(lambda: datetime.now(UTC) > fire + timedelta(seconds=1), 10)
        assert handler.received == []
        run(config, once=True)
        assert handler.per_recipient() == dict.fromkeys(emails, 1)
        run(config, once=True)  # and only once
        assert len(handler.received) == 5


@pytest.mark.slow
def test_a_digest_missed_by_more_than_the_grace_is_skipped(
    project: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from newsletter.ledger import find_digest
    from press.mail import open_store

    monkeypatch.setenv("PRESS_SECRET_KEY", KEY)
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        fire = digest_soon(project, server, 2)
        toml = project / "press.toml"
        toml.write_text(toml.read_text().replace("[smtp]", "grace_hours = 0.0003\n[smtp]"))
        config = load_config(toml, {"PRESS_SECRET_KEY": KEY})
        subscribe(config, 5)
        run(config, once=True)
        wait_for(lambda: datetime.now(UTC) > fire + timedelta(seconds=3), 10)
        with caplog.at_level("INFO", logger="press.run"):
            assert run(config, once=True) is False  # nothing is left to try
        assert handler.received == []
        skipped = [r.message for r in caplog.records if r.message.startswith("skipped digest ")]
        assert len(skipped) == 1 and "not sent within schedule.grace_hours" in skipped[0]
        key = skipped[0].split()[2].rstrip(":")
        record = find_digest(open_store(config), key)
        assert record is not None and record.skipped_at is not None
        run(config, once=True)  # recorded: not skipped (or sent) again
        assert handler.received == []


@pytest.mark.slow
def test_a_digest_due_while_the_smtp_server_is_down_goes_out_when_it_is_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers import free_port

    monkeypatch.setenv("PRESS_SECRET_KEY", KEY)
    port = free_port()
    down = SmtpServer(SmtpHandler(), port)  # nothing listens on the port yet
    fire = digest_soon(project, down, 2)
    config = load_config(project / "press.toml", {"PRESS_SECRET_KEY": KEY})
    emails = subscribe(config, 3)
    assert run(config, once=True) is False  # not due yet
    wait_for(lambda: datetime.now(UTC) > fire + timedelta(seconds=1), 10)
    assert run(config, once=True) is True  # due, and the server is down: try again later
    handler = SmtpHandler()
    with smtp_server(handler, port=port):
        assert run(config, once=True) is False  # ...and it goes out
        assert run(config, once=True) is False  # once
    assert handler.per_recipient() == dict.fromkeys(emails, 1)


@pytest.mark.slow
def test_a_standby_takes_over_when_the_scheduler_dies(project: Path, database_url: str) -> None:
    settings(project, f'[storage]\nurl = "{database_url}"\n')
    press = Path(sys.executable).parent / "press"
    log = project / "run.log"
    with press_run(project) as first:
        standby_log = (project / "standby.log").open("w")
        standby = subprocess.Popen(
            [str(press), "run", "--standby"], cwd=project, stdout=standby_log,
            stderr=subprocess.STDOUT, env={**os.environ, "PRESS_SECRET_KEY": KEY},
        )  # fmt: skip
        try:
            wait_for(lambda: "standing by" in (project / "standby.log").read_text(), 30)
            assert (
                "next: the weekly China-Russia digest" not in (project / "standby.log").read_text()
            )
            first.send_signal(signal.SIGKILL)
            first.wait()
            took = wait_for(
                lambda: (
                    "next: the weekly China-Russia digest" in (project / "standby.log").read_text()
                ),
                15,
            )
            print(f"the standby took over {took:.1f} s after the scheduler died")
            assert "taking over as the scheduler" in (project / "standby.log").read_text()
        finally:
            standby.send_signal(signal.SIGTERM)
            standby.wait(timeout=30)
            standby_log.close()
    assert log.exists()
