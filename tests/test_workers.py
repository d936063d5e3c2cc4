"""Several delivery workers share one digest through PostgreSQL, and survive a kill."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.store import deliveries
from press.digest import prepare
from press.mail import open_store
from press.send import queue_digest
from tests.smtp_server import SmtpHandler, smtp_server
from tests.test_delivery import KEY, configure, subscribe

pytestmark = pytest.mark.slow
NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRESS = str(Path(sys.executable).parent / "press")


def start_worker(project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [PRESS, "deliver", "--until-empty"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PRESS_SECRET_KEY": KEY},
    )


def test_four_workers_share_a_digest_and_take_over_a_killed_ones_batch(
    project: Path, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("workers on several machines are a PostgreSQL matter")
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        config = configure(project, server.url, "lease_seconds = 3\nbatch = 200\n", database_url)
        emails = subscribe(config, 20_000)
        run, _ = prepare(config, "2022-W37", None, NOW)
        engine = open_store(config)
        assert queue_digest(config, run, engine) == 20_000
        workers = [start_worker(project) for _ in range(4)]
        deadline = time.monotonic() + 120
        while len(handler.received) < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        owner = f"{socket.gethostname()}/%:{victim.pid}:%"  # host/boot:pid:token
        with engine.connect() as connection:
            orphaned = connection.execute(
                select(func.count())
                .select_from(deliveries)
                .where(deliveries.c.lease_owner.like(owner), deliveries.c.status == "queued")
            ).scalar()
        assert orphaned, "the killed worker held no batch"
        for worker in workers[1:]:
            assert worker.wait(timeout=600) == 0
        counts = handler.per_recipient()
        assert sorted(counts) == emails  # nobody missing
        extra = sum(counts.values()) - len(emails)
        print(f"20,000 messages, 4 workers, one killed: {extra} sent twice, {orphaned} taken over")
        assert 0 <= extra <= config.delivery.connections  # the killed worker's in-flight
        with engine.connect() as connection:
            left = connection.execute(
                select(func.count()).select_from(deliveries).where(deliveries.c.status != "sent")
            ).scalar()
        assert left == 0  # the killed worker's batch was finished by the others
