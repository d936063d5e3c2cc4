"""Signed tokens for the links in emails: unsubscribe, preferences, confirm.

A token names its purpose and its subject and is signed with the secret key, so it
cannot be forged, or used for another subscriber or another purpose. The subject is the
subscriber's id, never their address: a link scanner, proxy or log that sees the URL
learns nothing about who the reader is. A confirm token also carries the subscriber's
version (which leaving moves on, so an old confirmation cannot re-subscribe anyone) and
expires.

Links sent before ids (their subject is the address) keep working until
``LEGACY_UNTIL``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadData, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

# Used when PRESS_SECRET_KEY is not set: fine for previews and the outbox, never for
# mail to real subscribers (press refuses to send with it).
DEVELOPMENT_KEY = "bystander-press development key: not secret"
MIN_KEY_LENGTH = 32  # characters of PRESS_SECRET_KEY, for a key as strong as its HMAC
PURPOSES = ("unsubscribe", "preferences", "confirm")
# Only a confirm link expires; it carries its time. The others are the same every time
# they are made, so a digest's bytes for one subscriber are reproducible.
TIMED = ("confirm",)
# Links whose subject is an address (made before subscriber ids) are taken until then.
LEGACY_UNTIL = datetime(2027, 6, 1, tzinfo=UTC)


def link_subject(subscriber_id: int) -> str:
    """What an unsubscribe or preferences link carries: ``s`` and the subscriber's id."""
    return f"s{subscriber_id}"


def read_link_subject(subject: str, now: datetime) -> int | str:
    """The subscriber id of a link's subject, or the address of a legacy one."""
    if subject.startswith("s") and subject[1:].isdigit():
        return int(subject[1:])
    if "@" in subject and now < LEGACY_UNTIL:
        return subject
    raise TokenError("the link is not valid")


def confirm_subject(subscriber_id: int, version: int, categories: Iterable[str]) -> str:
    """What a confirm link carries: the subscriber, their version, the categories."""
    return json.dumps(
        {"s": subscriber_id, "v": version, "c": sorted(set(categories))}, separators=(",", ":")
    )


@dataclass(frozen=True)
class ConfirmRequest:
    """What a confirm link asks for. A legacy link names an address and no version."""

    subscriber_id: int | None
    version: int | None
    email: str | None
    categories: tuple[str, ...]


def read_confirm_subject(subject: str) -> ConfirmRequest:
    """The request of a confirm link's subject."""
    try:
        data = json.loads(subject)
        categories = data["c"]
        if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories):
            raise TypeError
        if "s" in data:
            subscriber_id, version = data["s"], data["v"]
            if not (isinstance(subscriber_id, int) and isinstance(version, int)):
                raise TypeError
            return ConfirmRequest(subscriber_id, version, None, tuple(categories))
        if not isinstance(data["e"], str):
            raise TypeError
        return ConfirmRequest(None, None, data["e"], tuple(categories))
    except (ValueError, KeyError, TypeError):
        raise TokenError("the link is not valid") from None


class TokenError(ValueError):
    """A token that is forged, damaged, expired or for another purpose."""


class Signer:
    """Signs and checks tokens with one secret key."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("the secret key is empty")
        self.secret = secret
        self._serializers: dict[str, URLSafeSerializer | URLSafeTimedSerializer] = {}

    @property
    def is_development(self) -> bool:
        return self.secret == DEVELOPMENT_KEY

    def _serializer(self, purpose: str) -> URLSafeSerializer | URLSafeTimedSerializer:
        found = self._serializers.get(purpose)
        if found is None:  # one a purpose (a send signs two tokens a recipient)
            if purpose not in PURPOSES:
                raise ValueError(f"unknown token purpose {purpose!r}")
            kind = URLSafeTimedSerializer if purpose in TIMED else URLSafeSerializer
            found = self._serializers[purpose] = kind(
                self.secret, salt=f"bystander-press {purpose}"
            )
        return found

    def address_token(self, purpose: str, subject: int) -> str:
        """A token for an email address's local part (``bounces+<token>@…``): the
        subject and a signature, in lower-case letters, digits and a hyphen, since mail
        servers may change the case of a local part, and 22 characters for the ids
        of a big list, well inside SMTP's 64."""
        return f"{subject}-{self._tag(purpose, subject)}"

    def read_address_token(self, purpose: str, token: str) -> int:
        """The subject of an ``address_token``; raises ``TokenError`` when forged."""
        subject, _, tag = token.strip().lower().partition("-")
        if not subject.isdigit() or not hmac.compare_digest(tag, self._tag(purpose, int(subject))):
            raise TokenError("the address is not one press made")
        return int(subject)

    def _tag(self, purpose: str, subject: int) -> str:
        key = hashlib.sha256(f"bystander-press address {purpose}\0{self.secret}".encode())
        mac = hmac.new(key.digest(), str(subject).encode(), hashlib.sha256).digest()
        return base64.b32encode(mac[:10]).decode().lower()  # 80 bits, 16 characters

    def sign(self, purpose: str, subject: str) -> str:
        """A URL-safe token for ``purpose`` about ``subject``."""
        return str(self._serializer(purpose).dumps(subject))

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> str:
        """The subject a token was made for; raises ``TokenError`` when it is not good."""
        serializer = self._serializer(purpose)
        try:
            if isinstance(serializer, URLSafeTimedSerializer):
                subject = serializer.loads(token, max_age=max_age)
            else:
                subject = serializer.loads(token)
        except SignatureExpired:
            raise TokenError("the link has expired") from None
        except BadData:  # a bad signature, or a good one over a damaged payload
            raise TokenError("the link is not valid") from None
        if not isinstance(subject, str):
            raise TokenError("the link is not valid")
        return subject
