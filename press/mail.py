"""The mail edges as press.toml configures them: SMTP connections, DKIM, the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from newsletter.dkim import DkimKey
from newsletter.smtp import SmtpTransport, Transport, parse_smtp_url
from newsletter.store import connect, migrate
from press.config import Config, ConfigError

# One engine (and connection pool) per database for the life of the process, as
# SQLAlchemy intends; migrations run once, on first use.
_engines: dict[str, Engine] = {}


def open_store(config: Config) -> Engine:
    """The database engine, its schema brought up to date."""
    url = config.database_url
    if url not in _engines:
        engine = connect(url)
        migrate(engine)
        _engines[url] = engine
    return _engines[url]


def close_stores() -> None:
    """Close every pooled database connection (tests, and before a fork)."""
    while _engines:
        _engines.popitem()[1].dispose()


def smtp_connector(config: Config) -> Callable[[], Transport] | None:
    """Makes one SMTP connection per call; None when no server is configured."""
    url = config.smtp.url
    if not url:
        return None
    settings = parse_smtp_url(
        url, config.secrets.get("smtp_password", ""), timeout=config.smtp.timeout
    )
    return lambda: SmtpTransport(settings)


def dkim_key(config: Config, sender_domain: str) -> DkimKey | None:
    """The DKIM key when ``dkim.selector`` is set; a missing key file is a config error."""
    selector = config.dkim.selector
    if not selector:
        return None
    key_file = config.dkim.key_file
    if not key_file:
        raise ConfigError(f"{config.path}: dkim.key_file: required when dkim.selector is set")
    path = config.root / Path(key_file)
    try:
        key = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{config.path}: dkim.key_file: cannot read {path}: {error}") from None
    return DkimKey(selector, config.dkim.domain or sender_domain, key)
