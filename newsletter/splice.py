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
from newsletter.render import PLACEHOLDERS, RenderedDigest, fill, header_text, own_links

CRLF = "\r\n"


def _encode(line: str) -> str:
    """One line (UTF-8 bytes as latin-1 text) as EmailMessage.set_content encodes it in
    quoted-printable, CRLF ends."""
    return email.quoprimime.body_encode(line, 76).replace("\n", CRLF)


class _Body:
    """One body in quoted-printable, encoded once: each copy encodes only the lines with
    the recipient's own links (quoted-printable encodes each line on its own)."""

    def __init__(self, text: str) -> None:
        # Runs of shared lines, encoded and joined, between lines with a placeholder.
        self.pieces: list[str | tuple[str]] = []
        run: list[str] = []
        for raw in text.encode("utf-8").splitlines():
            line = raw.decode("latin-1")
            if any(placeholder in line for placeholder in PLACEHOLDERS.values()):
                if run:
                    self.pieces.append(CRLF.join(run))
                    run = []
                self.pieces.append((line,))
            else:
                run.append(_encode(line))
        if run:
            self.pieces.append(CRLF.join(run))

    def encoded(self, links: dict[str, str]) -> str:
        """The body with ``links`` filled in, as ``_encode`` would give it whole."""
        latin = {k: v.encode("utf-8").decode("latin-1") for k, v in links.items()}
        lines = [p if isinstance(p, str) else _encode(fill(p[0], latin)) for p in self.pieces]
        return CRLF.join(lines) + CRLF


class Splicer:
    """Makes each recipient's message bytes for one rendered digest."""

    def __init__(self, site: Site, rendered: RenderedDigest, envelope: Envelope) -> None:
        self.site, self.rendered, self.envelope = site, rendered, envelope
        self.template: list[str] | None = None
        self.checked = False
        self.html, self.text = _Body(rendered.html), _Body(rendered.text)
        # The boundary hashes the personal HTML and text: the HTML up to its first
        # placeholder is the same for everyone, and hashed once.
        found = [i for i in (rendered.html.find(p) for p in PLACEHOLDERS.values()) if i >= 0]
        self.shared = min(found, default=len(rendered.html))
        self.shared_hash = hashlib.sha256(rendered.html[: self.shared].encode())

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
        html_links, text_links = own_links(recipient)
        digest = self.shared_hash.copy()  # of personalise()'s html + text, as the full build
        digest.update(fill(self.rendered.html[self.shared :], html_links).encode())
        digest.update(fill(self.rendered.text, text_links).encode())
        boundary = f"==press-{digest.hexdigest()[:24]}=="
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
            self.text.encoded(text_links), f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "MIME-Version: 1.0", "",  # the email package gives the second part its own
            self.html.encoded(html_links), f"--{boundary}--", "",
        ]  # fmt: skip
        return CRLF.join(parts).encode("ascii"), mid
