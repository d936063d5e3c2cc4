"""A real SMTP server for tests (aiosmtpd on a loopback port) that can misbehave on cue."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers import free_port


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    at: float = field(default_factory=time.monotonic)  # when it was accepted

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpHandler:
    """Records every accepted message; ``defer`` and ``reject`` script the failures."""

    received: list[Received] = field(default_factory=list)
    defer: dict[str, int] = field(default_factory=dict)  # address: how many 451s first
    reject: set[str] = field(default_factory=set)  # addresses answered 550
    delay: float = 0.0  # seconds before answering DATA
    pipelining: bool = False  # offer PIPELINING (RFC 2920), which aiosmtpd leaves out
    # Called with the number of the message just received, before the server's reply.
    on_message: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads one command at a time, pipelined or not
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            if address in self.reject:
                return "550 5.1.1 No such user here"
            if self.defer.get(address, 0) > 0:
                self.defer[address] -= 1
                return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)
            )
            number = len(self.received)
        if self.on_message is not None:
            self.on_message(number)
        return f"250 2.0.0 Ok: queued as M{number}"

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(r for message in self.received for r in message.recipients)


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=no"


@contextmanager
def smtp_server(
    handler: SmtpHandler | None = None, port: int = 0, **options: Any
) -> Iterator[SmtpServer]:
    """On ``port`` (default: a free one); ``options`` go to aiosmtpd's SMTP
    (``enable_SMTPUTF8=True``, say)."""
    handler = handler or SmtpHandler()
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()
