"""Signed link tokens: not forgeable, not reusable for another address or purpose."""

from __future__ import annotations

import time

import pytest

from newsletter.tokens import DEVELOPMENT_KEY, Signer, TokenError


def test_a_token_names_its_subject() -> None:
    signer = Signer("secret")
    token = signer.sign("unsubscribe", "reader@example.com")
    assert signer.verify("unsubscribe", token) == "reader@example.com"
    assert signer.sign("unsubscribe", "reader@example.com") == token  # reproducible


def test_forged_and_tampered_tokens_are_refused() -> None:
    signer = Signer("secret")
    token = signer.sign("unsubscribe", "reader@example.com")
    other = Signer("another secret").sign("unsubscribe", "reader@example.com")
    payload, signature = token.rsplit(".", 1)
    flipped = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (other, flipped, token[:-2], "", "garbage", token + "x"):
        with pytest.raises(TokenError):
            signer.verify("unsubscribe", bad)


def test_a_token_is_only_good_for_its_address_and_purpose() -> None:
    signer = Signer("secret")
    mine = signer.sign("unsubscribe", "a@example.com")
    theirs = signer.sign("unsubscribe", "b@example.com")
    assert mine != theirs
    with pytest.raises(TokenError):
        signer.verify("preferences", mine)
    with pytest.raises(TokenError):
        signer.verify("confirm", mine)


def test_a_confirm_token_expires() -> None:
    signer = Signer("secret")
    token = signer.sign("confirm", "a@example.com")
    assert signer.verify("confirm", token, max_age=60) == "a@example.com"
    time.sleep(1.1)
    with pytest.raises(TokenError, match="expired"):
        signer.verify("confirm", token, max_age=0)


def test_the_development_key_is_known_as_such() -> None:
    assert Signer(DEVELOPMENT_KEY).is_development
    assert not Signer("real").is_development
    with pytest.raises(ValueError):
        Signer("")
