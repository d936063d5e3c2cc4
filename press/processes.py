"""Sending one digest from several processes on this machine (``delivery.processes``).

This process sends its share of ``delivery.connections`` itself (it has the digest
rendered already), and each other is a ``press deliver --until-empty`` with its share:
the same claims, leases and heartbeats as workers on other machines, so a subscriber
still gets one copy, and at most ``delivery.connections`` messages are in flight across
them. One process is bound to one core by Python; more processes use more of them.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine

from newsletter.deliver import DeliveryReport
from newsletter.ledger import delivery_counts, failures_since, finish_digest
from press.config import SECRETS, Config


class ProcessFailed(Exception):
    """A sending process stopped with an error; its rows stay queued for the next run."""


def shares(connections: int, processes: int) -> list[int]:
    """``connections`` split as evenly as can be among ``processes`` (each at least one)."""
    return [connections // processes + (i < connections % processes) for i in range(processes)]


def send_in_processes(
    config: Config,
    engine: Engine,
    digest_id: int,
    processes: int,
    progress: Callable[[DeliveryReport, int], None],
    stop: threading.Event | None,
    clock: Callable[[], datetime],
    here: Callable[[int, Callable[[DeliveryReport, int], None]], DeliveryReport],
    poll: float = 0.5,
) -> DeliveryReport:
    """Send a queued digest from ``processes`` processes: this one, which has the digest
    rendered already and sends its share with ``here(connections, progress)``, and
    ``processes - 1`` workers it starts; report from the table."""
    start, before = clock(), delivery_counts(engine, digest_id)
    total = before["queued"]
    command = [sys.executable, "-m", "press", "--config", str(config.path)]
    command += ["deliver", "--until-empty", "--connections"]
    # The secrets this process was given, wherever it got them, for its workers too.
    environment = {**os.environ, **{SECRETS[name]: value for name, value in config.secrets.items()}}

    def report() -> DeliveryReport:
        now = delivery_counts(engine, digest_id)
        return DeliveryReport(
            sent=now["sent"] - before["sent"],
            failed=now["failed"] - before["failed"],
            skipped=now["skipped"] - before["skipped"],
            left=now["queued"],
        )

    mine, *theirs = shares(config.delivery.connections, processes)
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile()) for _ in theirs]
        workers = [
            subprocess.Popen(
                [*command, str(n)], stdout=subprocess.DEVNULL, stderr=log, env=environment
            )
            for n, log in zip(theirs, logs, strict=True)
        ]
        shown = 0
        try:
            try:
                own = here(mine, lambda _, __: progress(report(), total))
            except BaseException:
                for worker in workers:
                    worker.terminate()  # SIGTERM: each finishes what is in flight
                raise
            while any(worker.poll() is None for worker in workers):
                if stop is not None and stop.is_set():
                    for worker in workers:
                        worker.terminate()  # SIGTERM: each finishes what is in flight
                now = report()
                if now.sent + now.failed - shown >= config.delivery.batch:  # as one does
                    shown = now.sent + now.failed
                    progress(now, total)
                # Waiting on a running process, not sleeping: the last one's end is
                # seen at once (a sleep cost a quarter of a second a send, on average).
                running = next((w for w in workers if w.poll() is None), None)
                if running is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        running.wait(timeout=poll)
        finally:
            for worker in workers:
                worker.wait()
        stopped = stop is not None and stop.is_set()
        outage = ""
        for worker, log in zip(workers, logs, strict=True):
            if worker.returncode != 0 and not stopped:
                log.seek(0)
                lines = log.read().decode("utf-8", "replace").strip().splitlines()
                why = lines[-1] if lines else f"exit status {worker.returncode}"
                if worker.returncode != os.EX_TEMPFAIL:
                    raise ProcessFailed(f"a sending process failed: {why}")
                outage = why.removeprefix("Error: ")  # the SMTP server takes no mail
    final = report()
    final.outage = outage or own.outage
    final.failures, final.bounced = failures_since(engine, digest_id, start)
    if final.left == 0:
        finish_digest(engine, digest_id, clock())
    progress(final, total)
    return final
