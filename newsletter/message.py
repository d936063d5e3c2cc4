"""The digest as an email message: multipart/alternative, text first, with list headers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from feeds.model import Site
from newsletter.model import Recipient
from newsletter.render import RenderedDigest, header_text, personalise

# Headers are never folded below RFC 5322's 998 characters: a folded List-Unsubscribe
# could be turned into encoded words, and a DKIM signature must see the final bytes.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)
# For a recipient beyond ASCII, who can only be mailed over SMTPUTF8: headers in raw UTF-8
# (RFC 6532), since an encoded word may not stand inside an address (RFC 2047 §5).
UTF8_WIRE_POLICY = WIRE_POLICY.clone(utf8=True)


def message_bytes(message: EmailMessage) -> bytes:
    """The message as sent: CRLF line ends, headers unfolded up to 998 characters."""
    international = not str(message.get("To", "")).isascii()
    return message.as_bytes(policy=UTF8_WIRE_POLICY if international else WIRE_POLICY)


@dataclass(frozen=True)
class Envelope:
    """What every copy of one digest shares: who sends it, when, to which list."""

    sender: str
    date: datetime
    list_name: str
    reply_to: str = ""


def list_id(site: Site, rendered: RenderedDigest) -> str:
    """``<china-russia.chinabystander.com>``: the RFC 2919 list identifier."""
    return f"<{rendered.digest.newsletter.id}.{site.domain}>"


def message_id(site: Site, rendered: RenderedDigest, email: str) -> str:
    """The same for the same digest and recipient: a retried send keeps its id."""
    who = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:20]
    return f"<{rendered.digest.key}.{who}@{site.domain}>"


def build_message(
    site: Site, rendered: RenderedDigest, envelope: Envelope, recipient: Recipient
) -> EmailMessage:
    """One recipient's message. Every header value is cleaned of CR and LF first."""
    html, text = personalise(rendered, recipient)
    # Quoted-printable lines of at most 76 characters (RFC 2045), whatever Python's default.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=76))
    name, address = parseaddr(header_text(envelope.sender))
    message["From"] = Address(header_text(name), addr_spec=address) if name else address
    message["To"] = header_text(recipient.email)
    if envelope.reply_to:
        message["Reply-To"] = header_text(envelope.reply_to)
    message["Subject"] = header_text(rendered.subject)
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = message_id(site, rendered, recipient.email)
    message["List-Id"] = f"{header_text(envelope.list_name)} {list_id(site, rendered)}"
    message["List-Unsubscribe"] = (
        f"<{header_text(recipient.unsubscribe_url)}>, <{header_text(recipient.unsubscribe_mailto)}>"
    )
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    # A boundary from the content, not a random one, so the bytes are reproducible.
    digest_of_parts = hashlib.sha256((html + text).encode()).hexdigest()[:24]
    message.set_boundary(f"==press-{digest_of_parts}==")
    return message
