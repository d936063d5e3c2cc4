"""VERP: every delivery goes out with its own envelope sender, signed, so a bounce that
comes back days later says which delivery (so which subscriber) it is about."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.store import deliveries
from newsletter.tokens import Signer, TokenError
from newsletter.verp import default_pattern, delivery_of, return_path
from press.config import ConfigError
from press.mail import open_store
from tests.smtp_server import smtp_server
from tests.test_delivery import KEY, configure, send_w37, subscribe

PATTERN = "bounces+{token}@chinabystander.com"


def test_each_delivery_has_its_own_signed_return_path(project: Path, database_url: str) -> None:
    with smtp_server() as server:
        config = configure(project, server.url, "", database_url)
        assert config.delivery.return_path == PATTERN  # from the sender, digest@…
        subscribe(config, 5)
        send_w37(config)
        with open_store(config).connect() as connection:
            ids = dict(connection.execute(select(deliveries.c.email, deliveries.c.id)).all())
        signer = Signer(KEY)
        senders = {}
        for received in server.handler.received:
            [recipient] = received.recipients
            senders[recipient] = received.sender
            assert len(received.sender.partition("@")[0]) <= 64  # SMTP's local-part limit
            assert delivery_of(received.sender, PATTERN, signer) == ids[recipient]
        assert len(set(senders.values())) == 5  # one each
        # Mail servers may fold the case of a local part: the token still reads.
        first = next(iter(senders.values()))
        assert delivery_of(first.upper(), PATTERN, signer) is not None


def test_a_forged_or_foreign_address_names_no_delivery() -> None:
    signer = Signer(KEY)
    good = return_path(PATTERN, signer, 1234)
    assert delivery_of(good, PATTERN, signer) == 1234
    forged = good.replace("bounces+1234-", "bounces+1235-")
    assert delivery_of(forged, PATTERN, signer) is None
    assert delivery_of(good, PATTERN, Signer("another key, long enough to be one")) is None
    assert delivery_of("digest@chinabystander.com", PATTERN, signer) is None
    assert delivery_of(["To: someone <x@y>", f"Bounce <{good}>"], PATTERN, signer) == 1234
    with pytest.raises(TokenError):
        signer.read_address_token("bounce", "12-notatoken")


def test_the_pattern_is_a_setting(project: Path) -> None:
    assert default_pattern("digest@example.org") == "bounces+{token}@example.org"
    toml = project / "press.toml"
    original = toml.read_text()
    toml.write_text(original + '\n[delivery]\nreturn_path = "bounce-{token}@mx.example"\n')
    from press.config import load_config

    assert load_config(toml).delivery.return_path == "bounce-{token}@mx.example"
    toml.write_text(original + '\n[delivery]\nreturn_path = "no at sign"\n')
    with pytest.raises(ConfigError, match=r"delivery\.return_path: expected an address"):
        load_config(toml)
    signer = Signer(KEY)
    assert return_path("digest@example.org", signer, 7) == "digest@example.org"  # no VERP
    assert delivery_of("digest@example.org", "digest@example.org", signer) is None
