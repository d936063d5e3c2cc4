"""Fast per-recipient messages: one digest's MIME built once, each copy spliced from it.

Building a 30 KB message with Python's email package costs about 4 ms; a digest's copies
differ only in To, Message-ID, List-Unsubscribe, the links in the two bodies and the
boundary. ``Splicer`` builds one copy with the email package, then makes each other copy
by replacing those and quoted-printable encoding the two bodies (as the email package
does). It checks its first copy against a full build and falls back for good if they
differ, and for any address that is not plain ASCII.
"""

from __future__ import annotations

import email.quoprimime
import hashlib

from feeds.model import Site
from newsletter.message import Envelope, build_message, message_bytes, message_id
from newsletter.model import Recipient
from newsletter.render import RenderedDigest, header_text, personalise

CRLF = "\r\n"


def _qp(text: str, known: dict[str, str] | None = None, learn: bool = False) -> str:
    """A body as EmailMessage.set_content(cte="quoted-printable") encodes it, CRLF ends.

    Quoted-printable encodes each line on its own, so a line in ``known`` (the lines of
    the first copy, which ``learn`` fills in) is not encoded again: only the few lines
    with a recipient's own links are.
    """
    encoded = []
    for raw in text.encode("utf-8").splitlines():
        line = raw.decode("latin-1")
        done = known.get(line) if known is not None else None
        if done is None:
            done = email.quoprimime.body_encode(line, 76).replace("\n", CRLF)
            if learn and known is not None:
                known[line] = done
        encoded.append(done)
    return CRLF.join(encoded) + CRLF


class Splicer:
    """Makes each recipient's message bytes for one rendered digest."""

    def __init__(self, site: Site, rendered: RenderedDigest, envelope: Envelope) -> None:
        self.site, self.rendered, self.envelope = site, rendered, envelope
        self.template: list[str] | None = None
        self.checked = False
        self.known: dict[str, str] = {}  # quoted-printable lines, by their text

    def full(self, recipient: Recipient) -> tuple[bytes, str]:
        message = build_message(self.site, self.rendered, self.envelope, recipient)
        return message_bytes(message), str(message["Message-ID"])

    def compose(self, recipient: Recipient) -> tuple[bytes, str]:
        """One recipient's message bytes and Message-ID."""
        if not recipient.email.isascii() or self.checked is None:
            return self.full(recipient)
        if self.template is None:
            data, mid = self.full(recipient)
            head = data.decode("ascii").split(CRLF + CRLF, 1)[0]
            self.template = [
                line for line in head.split(CRLF)
                if not line.startswith(("To:", "Message-ID:", "List-Unsubscribe:", "Content-Type:"))
            ]  # fmt: skip
            return data, mid
        data, mid = self._spliced(recipient)
        if not self.checked:  # the first spliced copy must equal a full build
            expected = self.full(recipient)
            if (data, mid) != expected:
                self.checked = None  # type: ignore[assignment]
                return expected
            self.checked = True
        return data, mid

    def _spliced(self, recipient: Recipient) -> tuple[bytes, str]:
        assert self.template is not None
        html, text = personalise(self.rendered, recipient)
        learn = not self.known  # the first spliced copy teaches the lines all copies share
        boundary = f"==press-{hashlib.sha256((html + text).encode()).hexdigest()[:24]}=="
        mid = message_id(self.site, self.rendered, recipient.email)
        unsubscribe = (
            f"<{header_text(recipient.unsubscribe_url)}>, "
            f"<{header_text(recipient.unsubscribe_mailto)}>"
        )
        head: list[str] = []
        for line in self.template:
            head.append(line)
            if line.startswith("From:"):
                head.append(f"To: {header_text(recipient.email)}")
            elif line.startswith("Date:"):
                head.append(f"Message-ID: {mid}")
            elif line.startswith("List-Id:"):
                head.append(f"List-Unsubscribe: {unsubscribe}")
            elif line.startswith("MIME-Version:"):
                head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        parts = [
            CRLF.join(head), "",
            f"--{boundary}",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable", "",
            _qp(text, self.known, learn), f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "MIME-Version: 1.0", "",  # the email package gives the second part its own
            _qp(html, self.known, learn), f"--{boundary}--", "",
        ]  # fmt: skip
        return CRLF.join(parts).encode("ascii"), mid
