"""Reading what comes back: a corpus of bounces, complaints and other replies, written
from the formats Postfix, Exim, Gmail, Outlook and Yahoo send and RFC 3464, RFC 5965 and
RFC 3834 define; each gets the right verdict about the right delivery."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.bounces import read_message
from newsletter.tokens import Signer
from newsletter.verp import return_path

CORPUS = Path(__file__).parent / "data" / "bounces"
KEY = "test secret key, long enough to sign with"
PATTERN = "bounces+{token}@chinabystander.com"
MESSAGE_ID = "<2022-W37-china-russia.0123456789abcdef0123@chinabystander.com>"


def message(name: str, delivery: int = 42) -> bytes:
    text = (CORPUS / name).read_text()
    address = return_path(PATTERN, Signer(KEY), delivery)
    return text.replace("__RETURN_PATH__", address).replace("__MESSAGE_ID__", MESSAGE_ID).encode()


@pytest.mark.parametrize(
    ("name", "kind", "delivery", "recipients", "status"),
    [
        ("postfix-hard.eml", "hard", 42, ("reader00003@example.com",), "5.1.1"),
        ("postfix-delayed.eml", "delayed", 42, ("reader00003@example.com",), "4.4.1"),
        ("exim-plain.eml", "hard", 42, ("reader00004@example.org",), "5.1.1"),
        ("gmail-hard.eml", "hard", 42, ("reader00005@gmail.com",), "5.1.1"),
        ("outlook-hard.eml", "hard", 42, ("reader00006@outlook.com",), "5.1.10"),
        ("yahoo-soft.eml", "soft", 42, ("reader00007@yahoo.com",), "4.2.2"),
        ("arf-complaint.eml", "complaint", 42, ("reader00008@example.com",), ""),
        ("vacation.eml", "auto-reply", 42, (), ""),
        ("outlook-auto-reply.eml", "auto-reply", 42, (), ""),
        ("human-reply.eml", "unrelated", None, (), ""),
        ("forged.eml", "hard", None, ("reader00003@example.com",), "5.1.1"),
    ],
)  # fmt: skip
def test_each_message_gets_its_verdict(
    name: str, kind: str, delivery: int | None, recipients: tuple[str, ...], status: str
) -> None:
    verdict = read_message(message(name), Signer(KEY), PATTERN)
    assert (verdict.kind, verdict.delivery_id, verdict.recipients, verdict.status) == (
        kind, delivery, recipients, status,
    )  # fmt: skip
    assert verdict.key and verdict.counts == (kind in ("hard", "soft", "complaint"))


def test_the_returned_message_id_is_kept_never_trusted() -> None:
    verdict = read_message(message("forged.eml"), Signer(KEY), PATTERN)
    assert verdict.message_ids == (MESSAGE_ID,) and verdict.delivery_id is None


def test_a_complaint_says_its_feedback_type() -> None:
    verdict = read_message(message("arf-complaint.eml"), Signer(KEY), PATTERN)
    assert verdict.detail == "abuse"


def test_the_envelope_recipient_names_the_delivery_when_headers_do_not() -> None:
    data = message("yahoo-soft.eml").replace(b"To: bounces+", b"To: someone-else+")
    signer = Signer(KEY)
    assert read_message(data, signer, PATTERN).delivery_id is None
    address = return_path(PATTERN, signer, 42)
    assert read_message(data, signer, PATTERN, (address,)).delivery_id == 42


def test_a_message_without_an_id_is_known_by_its_bytes() -> None:
    data = b"From: a@example.com\nSubject: hello\n\nhi\n"
    first = read_message(data, Signer(KEY), PATTERN)
    assert first.key.startswith("sha256:") and first.kind == "unrelated"
    assert read_message(data, Signer(KEY), PATTERN).key == first.key
