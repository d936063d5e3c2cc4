"""The SMTP transport against a real server (aiosmtpd): replies, pipelining, dots,
and addresses beyond ASCII."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsletter.smtp import (
    PermanentFailure,
    SmtpTransport,
    TemporaryFailure,
    data_lines,
    parse_smtp_url,
)
from tests.smtp_server import SmtpHandler, smtp_server

MESSAGE = b"Subject: Dots\r\nFrom: a@example.com\r\n\r\n.starts with a dot\r\n..two\r\nend"


def counting(transport: SmtpTransport) -> list[Any]:
    """Open ``transport``; the list collects each write it makes to the socket."""
    transport.open()
    smtp = transport._smtp
    assert smtp is not None
    writes: list[Any] = []
    original = smtp.send

    def send(data: Any) -> None:
        writes.append(data)
        original(data)

    smtp.send = send  # type: ignore[method-assign]
    return writes


@pytest.mark.parametrize("pipelining", [False, True])
def test_replies_dots_and_the_connection_after_a_refusal(pipelining: bool) -> None:
    handler = SmtpHandler(
        reject={"gone@example.com"}, defer={"later@example.com": 1}, pipelining=pipelining
    )
    with smtp_server(handler) as server:
        transport = SmtpTransport(parse_smtp_url(server.url))
        writes = counting(transport)
        assert transport.send("a@example.com", "one@example.com", MESSAGE).startswith("250 ")
        assert len(writes) == (2 if pipelining else 4)  # commands at once, then the message
        with pytest.raises(PermanentFailure, match=r"550 5\.1\.1 No such user"):
            transport.send("a@example.com", "gone@example.com", MESSAGE)
        with pytest.raises(TemporaryFailure, match=r"451 4\.3\.0"):
            transport.send("a@example.com", "later@example.com", MESSAGE)
        assert transport.send("a@example.com", "later@example.com", MESSAGE).startswith("250 ")
        transport.close()
    assert [r.recipients for r in handler.received] == [
        ["one@example.com"],
        ["later@example.com"],
    ]
    for received in handler.received:  # the dots as written: stuffed, then unstuffed
        assert received.data.endswith(b"\r\n.starts with a dot\r\n..two\r\nend\r\n")


@pytest.mark.parametrize("pipelining", [False, True])
def test_an_address_beyond_ascii_needs_smtputf8(pipelining: bool) -> None:
    address = "jörg@exämple.de"
    handler = SmtpHandler(pipelining=pipelining)
    with smtp_server(handler, enable_SMTPUTF8=False) as server:
        transport = SmtpTransport(parse_smtp_url(server.url))
        with pytest.raises(PermanentFailure, match="does not take SMTPUTF8 for jörg@"):
            transport.send("a@example.com", address, MESSAGE)
        assert transport.send("a@example.com", "b@example.com", MESSAGE).startswith("250 ")
        transport.close()
    with smtp_server(handler) as server:  # aiosmtpd's Controller offers SMTPUTF8
        transport = SmtpTransport(parse_smtp_url(server.url))
        assert transport.send("a@example.com", address, MESSAGE).startswith("250 ")
        assert transport.send("a@example.com", "c@example.com", MESSAGE).startswith("250 ")
        transport.close()
    assert [r.recipients for r in handler.received] == [
        ["b@example.com"],
        [address],
        ["c@example.com"],
    ]


@given(st.binary().map(lambda b: bytes(b".\r\na"[x % 4] for x in b)))
def test_dots_are_stuffed_as_smtplib_stuffs_them(data: bytes) -> None:
    expected = re.sub(rb"(?m)^\.", b"..", data)  # smtplib's data(), for bytes
    expected += b"" if expected.endswith(b"\r\n") else b"\r\n"
    assert data_lines(data) == expected + b".\r\n"


def test_an_address_cannot_smuggle_a_command() -> None:
    handler = SmtpHandler(pipelining=True)
    with smtp_server(handler) as server:
        transport = SmtpTransport(parse_smtp_url(server.url))
        smuggled = "a@example.com>\r\nRCPT TO:<b@example.com"
        with pytest.raises(PermanentFailure, match="not an address for SMTP"):
            transport.send("s@example.com", smuggled, MESSAGE)
        assert transport.send("s@example.com", "c@example.com", MESSAGE).startswith("250 ")
        transport.close()
    assert [r.recipients for r in handler.received] == [["c@example.com"]]
