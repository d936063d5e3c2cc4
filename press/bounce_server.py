"""``press bounces receive``: an SMTP listener (aiosmtpd) for the returned mail a mail
server routes to press (the ``bounces+…`` addresses, a feedback-loop address).

A message is answered 250 only once it is handled and committed; if the database cannot
be reached it is answered 451, so the mail server keeps it and tries again. A crash
before the answer loses nothing either: the server sends it again, and a message
handled before is known by its key.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Any

from press.bounces import BounceReader
from press.config import Config

log = logging.getLogger(__name__)


class BounceHandler:
    """aiosmtpd's handler: every message, whoever it is for (the mail server routes only
    press's addresses here), read and acted on before it is answered."""

    def __init__(self, config: Config) -> None:
        self.reader = BounceReader(config)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from sqlalchemy.exc import OperationalError

        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        to = tuple(str(address) for address in envelope.rcpt_tos)
        try:  # in a thread: the database may take its time, the listener may not
            await asyncio.get_running_loop().run_in_executor(None, self.reader.take, data, to)
        except OperationalError as error:
            log.warning("the database cannot be reached (%s): asked to send again", error.orig)
            return "451 4.3.0 The database cannot be reached; try again later"
        return "250 2.0.0 OK: handled"


def receive(config: Config, host: str, port: int) -> str:
    """Listen on ``host``:``port`` until SIGTERM or SIGINT; the summary of what came."""
    from aiosmtpd.controller import Controller

    handler = BounceHandler(config)
    controller = Controller(handler, hostname=host, port=port, data_size_limit=10_000_000)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    controller.start()
    try:
        log.info("press bounces receive: listening on %s:%d", host, port)
        stop.wait()
    finally:
        controller.stop()
        for number, old in previous.items():
            signal.signal(number, old)
    return handler.reader.report.summary()
