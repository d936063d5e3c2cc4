"""What a message that comes back says: a bounce (hard or soft), a complaint, an
auto-reply, or nothing press acts on.

Pure: bytes in, a ``Verdict`` out; ``newsletter.bounce_store`` acts on it. The formats:

- RFC 3464 delivery status notifications (``multipart/report;
  report-type=delivery-status``), what Postfix, Exim with DSN, Gmail, Outlook and most
  relays send: each recipient's ``Action`` and ``Status`` decide. ``failed`` with 5.x.x
  is hard, with 4.x.x soft; ``delayed`` is a warning that the relay still tries
  (counted as nothing: the failure, if it comes, counts).
- Older and odd formats (Exim's plain text, Yahoo's, qmail's…): flufl.bounce, Mailman's
  detectors, gives the failed addresses, permanent or temporary.
- RFC 5965 ARF feedback reports (``report-type=feedback-report``): a complaint.
- RFC 3834 auto-replies (vacation messages, out of office, by their headers or subject):
  never a bounce.

Which delivery it is about comes only from a signed VERP address (``newsletter.verp``):
the address it was sent back to, or for a complaint the return path it reports. The
returned original's Message-ID is kept for the record, never trusted: it can be guessed,
and a forged bounce must not unsubscribe anyone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses

from newsletter.tokens import Signer
from newsletter.verp import delivery_of, subscriber_of

KINDS = ("hard", "soft", "complaint", "unsubscribe", "delayed", "auto-reply", "unrelated")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_AUTO_SUBJECT = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|"
    r"vacation|abwesenheit|réponse automatique)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Verdict:
    """What one message says, and about which delivery."""

    kind: str  # one of KINDS
    key: str  # the message, for handling it once: its Message-ID, or a hash of it
    delivery_id: int | None = None  # from the VERP address it came back to
    message_ids: tuple[str, ...] = ()  # the returned original's Message-ID
    recipients: tuple[str, ...] = ()  # the addresses that failed, or complained
    status: str = ""  # the enhanced status code, 5.1.1
    detail: str = ""  # the diagnostic, or the feedback type
    subscriber_id: int | None = None  # for "unsubscribe": whose address it came to

    @property
    def counts(self) -> bool:
        """Whether press acts on it (a bounce, a complaint, an unsubscribe)."""
        return self.kind in ("hard", "soft", "complaint", "unsubscribe")


def read_message(
    data: bytes,
    signer: Signer,
    pattern: str,
    envelope_to: tuple[str, ...] = (),
    unsubscribe: str = "",
) -> Verdict:
    """The verdict on one message; ``envelope_to``: the addresses the mail server says it
    was for (an SMTP ``RCPT TO`` or a pipe's recipient), ``pattern`` the return path
    pattern (``delivery.return_path``), ``unsubscribe`` List-Unsubscribe's
    (``delivery.unsubscribe_address``): mail to a subscriber's own one (RFC 8058's
    ``mailto:``, what a mail client sends when its reader clicks "unsubscribe") is an
    unsubscribe."""
    message = message_from_bytes(data, policy=policy.compat32)
    key = _key(message, data)
    to = [*envelope_to, *_headers(message, "Delivered-To", "X-Original-To", "Envelope-To", "To")]

    def find(addresses: list[str]) -> int | None:
        return delivery_of(addresses, pattern, signer)

    if unsubscribe:
        leaving = subscriber_of(to, unsubscribe, signer)
        if leaving is not None:
            return Verdict("unsubscribe", key, subscriber_id=leaving)
    delivery = find(to)
    report_type = (message.get_param("report-type") or "") if message.is_multipart() else ""
    content = message.get_content_type()
    if content == "multipart/report" and str(report_type).lower() == "feedback-report":
        return _complaint(message, key, delivery, find)
    if content == "multipart/report" and str(report_type).lower() == "delivery-status":
        found = _dsn(message, key, delivery)
        if found is not None:
            return found
    # A bounce in another format (it may say Auto-Submitted too), then an auto-reply.
    found = _other_formats(message, key, delivery)
    if found.kind == "unrelated" and _is_auto_reply(message):
        return Verdict("auto-reply", key, delivery)
    return found


def message_key(data: bytes) -> str:
    """The key ``read_message`` gives the message (its Message-ID, or a hash of it), from
    its headers alone: to skip a message handled before without reading it whole."""
    from email.parser import BytesHeaderParser

    return _key(BytesHeaderParser(policy=policy.compat32).parsebytes(data), data)


def _key(message: Message, data: bytes) -> str:
    message_id = str(message.get("Message-ID", "")).strip()
    if message_id:
        return message_id[:900]
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _headers(message: Message, *names: str) -> list[str]:
    return [str(value) for name in names for value in message.get_all(name, [])]


def _returned(message: Message, name: str) -> list[str]:
    """A header of the returned original (``message/rfc822`` or
    ``text/rfc822-headers``), in each copy of it the message holds."""
    found: list[str] = []
    for part in message.walk():
        content = part.get_content_type()
        if content == "message/rfc822" and part.is_multipart():
            for inner in part.get_payload():
                if isinstance(inner, Message):
                    found += _headers(inner, name)
        elif content == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            headers = message_from_bytes(bytes(payload), policy=policy.compat32)
            found += _headers(headers, name)
    return found


def _original_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs of the returned original, which press recorded when it sent it."""
    return tuple(dict.fromkeys(i.strip() for i in _returned(message, "Message-ID") if i.strip()))


def _address(value: str) -> str:
    """``rfc822; reader@example.com`` → ``reader@example.com``."""
    text = value.split(";", 1)[-1].strip()
    return getaddresses([text])[0][1].lower() or text.lower()


def _dsn(message: Message, key: str, delivery: int | None) -> Verdict | None:
    status_part = next(
        (p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if status_part is None:
        return None
    blocks = status_part.get_payload()
    if not isinstance(blocks, list):
        return None
    failed: list[tuple[str, str, str, str]] = []  # (action, status, recipient, diagnostic)
    for block in blocks[1:]:  # the first block is about the message, the rest a recipient each
        if not isinstance(block, Message):
            continue
        action = str(block.get("Action", "")).strip().lower()
        code = _STATUS.search(str(block.get("Status", "")))
        recipient = _address(
            str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
        )
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split(";", 1)[-1].split())
        failed.append((action, code.group(0) if code else "", recipient, diagnostic))
    ids = _original_ids(message)
    for wanted, kind in (("5", "hard"), ("4", "soft")):
        hits = [f for f in failed if f[0] == "failed" and f[1].startswith(wanted)]
        if hits:
            _, status, _, diagnostic = hits[0]
            recipients = tuple(f[2] for f in hits if f[2])
            return Verdict(kind, key, delivery, ids, recipients, status, diagnostic[:500])
    delayed = [f for f in failed if f[0] == "delayed"]
    if delayed:
        _, status, recipient, diagnostic = delayed[0]
        return Verdict("delayed", key, delivery, ids, (recipient,), status, diagnostic[:500])
    return Verdict("unrelated", key, delivery, ids)  # delivered, relayed, expanded


def _complaint(
    message: Message, key: str, delivery: int | None, find: Callable[[list[str]], int | None]
) -> Verdict:
    report = next(
        (p for p in message.walk() if p.get_content_type() == "message/feedback-report"), None
    )
    fields: dict[str, str] = {}
    if report is not None:
        payload = report.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            fields = {k.lower(): str(v) for k, v in payload[0].items()}  # parsed headers
        else:
            raw = report.get_payload(decode=True) or b""
            parsed = message_from_bytes(bytes(raw), policy=policy.compat32)
            fields = {k.lower(): str(v) for k, v in parsed.items()}
    recipients = [
        _address(fields[name])
        for name in ("original-rcpt-to", "removal-recipient")
        if fields.get(name)
    ]
    ids = _original_ids(message)
    if delivery is None:  # the report, or its copy of our message, names the return path
        delivery = find([fields.get("original-mail-from", ""), *_returned(message, "Return-Path")])
    feedback = fields.get("feedback-type", "abuse").strip().lower()
    return Verdict("complaint", key, delivery, ids, tuple(dict.fromkeys(recipients)), "", feedback)


def _is_auto_reply(message: Message) -> bool:
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if any(message.get(h) for h in ("X-Autoreply", "X-Autorespond")):
        return True
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.match(str(message.get("Subject", ""))))


def _other_formats(message: Message, key: str, delivery: int | None) -> Verdict:
    from flufl.bounce import all_failures  # Mailman's detectors, for what is no DSN

    temporary, permanent = all_failures(message)
    failed = permanent or temporary
    if not failed:
        return Verdict("unrelated", key, delivery)
    kind = "hard" if permanent else "soft"
    recipients = tuple(sorted(a.decode("utf-8", "replace").lower() for a in failed))
    status = _STATUS.search(_text(message))
    detail = str(message.get("Subject", ""))[:200]
    code = status.group(0) if status and status.group(0)[0] in "45" else ""
    return Verdict(kind, key, delivery, _original_ids(message), recipients, code, detail)


def _text(message: Message) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            parts.append(bytes(payload).decode("utf-8", "replace"))
    return "\n".join(parts)
