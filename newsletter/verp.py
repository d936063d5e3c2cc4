"""VERP: each delivery's envelope sender is an address of its own, so a bounce that
comes back later names the delivery it is about (``bounces+1234-k3j4…@example.com``).

The token in it is the delivery's id, signed with the site key (``Signer.address_token``):
a forged or mistyped one names nothing. ``delivery.return_path`` is the pattern, with
``{token}`` where the token goes; a pattern without it turns VERP off (every delivery has
that one address).
"""

from __future__ import annotations

import re
from email.utils import getaddresses
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # press.config needs only default_pattern: no itsdangerous at start-up
    from newsletter.tokens import Signer

BOUNCE = "bounce"  # a return path names a delivery
UNSUBSCRIBE = "unsubscribe"  # List-Unsubscribe's address names a subscriber


def default_pattern(sender: str, local: str = "bounces") -> str:
    """``bounces+{token}@<the sender's domain>`` (or ``unsubscribe+…``)."""
    domain = sender.rpartition("@")[2] or "localhost"
    return f"{local}+{{token}}@{domain}"


def return_path(pattern: str, signer: Signer, delivery_id: int) -> str:
    """The envelope sender (``MAIL FROM``) of one delivery."""
    return _address(pattern, signer, BOUNCE, delivery_id)


def unsubscribe_address(pattern: str, signer: Signer, subscriber_id: int) -> str:
    """A subscriber's own address for List-Unsubscribe's ``mailto:``."""
    return _address(pattern, signer, UNSUBSCRIBE, subscriber_id)


def delivery_of(addresses: str | list[str], pattern: str, signer: Signer) -> int | None:
    """The delivery a bounce was sent back for, from the addresses it came to (the
    envelope recipient, or headers like Delivered-To and To); None when none of them is
    a return path press made (a forged token, or mail to another address)."""
    return _number_of(addresses, pattern, signer, BOUNCE)


def subscriber_of(addresses: str | list[str], pattern: str, signer: Signer) -> int | None:
    """The subscriber whose unsubscribe address a message came to, or None."""
    return _number_of(addresses, pattern, signer, UNSUBSCRIBE)


def _address(pattern: str, signer: Signer, purpose: str, number: int) -> str:
    return pattern.replace("{token}", signer.address_token(purpose, number))


def _matcher(pattern: str) -> re.Pattern[str]:
    before, _, after = pattern.lower().partition("{token}")
    return re.compile(re.escape(before) + r"([0-9]+-[a-z2-7]{16})" + re.escape(after) + r"\Z")


def _number_of(
    addresses: str | list[str], pattern: str, signer: Signer, purpose: str
) -> int | None:
    from newsletter.tokens import TokenError

    if "{token}" not in pattern:
        return None
    found = _matcher(pattern)
    texts = [addresses] if isinstance(addresses, str) else addresses
    for _, address in getaddresses(texts):
        match = found.match(address.strip().lower())
        if match:
            try:
                return signer.read_address_token(purpose, match.group(1))
            except TokenError:
                continue
    return None
