"""Signed tokens for the links in emails: unsubscribe, preferences, confirm.

A token names its purpose and its subject (an address or subscriber id) and is signed
with the secret key, so it cannot be forged, made from the address alone, or used for
another address or another purpose. A confirm token also expires.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

# Used when PRESS_SECRET_KEY is not set: fine for previews and the outbox, never for
# mail to real subscribers (press refuses to send with it).
DEVELOPMENT_KEY = "bystander-press development key: not secret"
PURPOSES = ("unsubscribe", "preferences", "confirm")
# Only a confirm link expires; it carries its time. The others are the same every time
# they are made, so a digest's bytes for one subscriber are reproducible.
TIMED = ("confirm",)


def confirm_subject(email: str, categories: Iterable[str]) -> str:
    """What a confirm link carries: the address and the categories asked for."""
    return json.dumps({"e": email, "c": sorted(set(categories))}, separators=(",", ":"))


def read_confirm_subject(subject: str) -> tuple[str, list[str]]:
    """The address and categories of a confirm link's subject."""
    try:
        data = json.loads(subject)
        email, categories = data["e"], data["c"]
    except (ValueError, KeyError, TypeError):
        raise TokenError("the link is not valid") from None
    if not isinstance(email, str) or not all(isinstance(c, str) for c in categories):
        raise TokenError("the link is not valid")
    return email, list(categories)


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
        except BadSignature:
            raise TokenError("the link is not valid") from None
        if not isinstance(subject, str):
            raise TokenError("the link is not valid")
        return subject
