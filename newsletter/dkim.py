"""DKIM signatures (dkimpy) over the headers a receiver and RFC 8058 care about.

Each is signed once more than it occurs (oversigned, RFC 6376 §8.15): a copy of any of
them added later, above or below, breaks the signature.
"""

from __future__ import annotations

from dataclasses import dataclass

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key: bytes


def sign(data: bytes, key: DkimKey) -> bytes:
    """The message with a ``DKIM-Signature`` header in front; the rest is not re-folded."""
    import dkim  # dkimpy and dnspython: loaded only by a run that signs

    signature: bytes = dkim.sign(
        message=data,
        selector=key.selector.encode(),
        domain=key.domain.encode(),
        privkey=key.private_key,
        include_headers=[name for name in SIGNED_HEADERS for _ in range(2)],
        linesep=b"\r\n",
    )
    return signature + data
