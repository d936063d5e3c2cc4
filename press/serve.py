"""``press serve``: the web app built from press.toml, for uvicorn."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.applications import Starlette

from newsletter.web import WebSettings, create_app
from press.config import Config
from press.mail import open_store
from press.send import real_signer, send_confirmation
from press.templates import template_env


def web_settings(config: Config, categories: list[str]) -> WebSettings:
    default = config["newsletter.category"]
    offered = tuple(dict.fromkeys([default, *categories]))
    return WebSettings(
        categories=offered,
        default_category=default,
        confirm_hours=config["subscribers.confirm_hours"],
    )


def build_app(config: Config) -> Starlette:
    """The app as ``press serve`` runs it; refuses to start without PRESS_SECRET_KEY."""
    signer = real_signer(config)
    outbox = config.folder("var") / "outbox"

    def confirm(email: str, categories: list[str]) -> None:
        send_confirmation(config, email, categories, datetime.now(UTC), outbox)

    return create_app(
        store=open_store(config),
        site=config.site,
        signer=signer,
        env=template_env(config),
        settings=web_settings(config, [config["newsletter.category"]]),
        send_confirmation=confirm,
        public=config.folder("public"),
    )
