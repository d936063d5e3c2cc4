"""``press serve``: the web app built from press.toml, for uvicorn; without a secret key,
a preview of the site alone; with ``--watch``, a publisher beside it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

from feeds.text import slugify
from newsletter.confirm import ConfirmationQueue
from newsletter.subscribers import request_subscription
from newsletter.web import WebSettings, create_app, create_preview_app
from newsletter.web_pages import Offer
from press.clock import ticks, utc_now
from press.config import Config
from press.digest import signer_from
from press.mail import open_store
from press.send import real_signer, send_confirmation
from press.templates import template_env


def web_settings(config: Config) -> WebSettings:
    """Every newsletter is offered on the forms; the first is checked on a blank one."""
    return WebSettings(
        newsletters=tuple(
            Offer(
                spec.id,
                spec.title,
                tuple((slugify(name), name) for name in spec.categories)
                if spec.choose_categories
                else (),
            )
            for spec in config.newsletters
        ),
        default_newsletter=config.newsletters[0].id,
        confirm_hours=config.subscribers.confirm_hours,
    )


def build_app(config: Config) -> Starlette:
    """The app as ``press serve`` runs it; refuses to start without a real
    PRESS_SECRET_KEY. Confirmation emails go from a queue, after the response."""
    real_signer(config)
    outbox = config.folder("var") / "outbox"
    store = open_store(config)

    def confirm(email: str, categories: list[str]) -> None:
        now = utc_now()
        subscriber = request_subscription(store, email, categories, now)
        if subscriber is not None:
            send_confirmation(config, subscriber, categories, now, outbox)

    confirmations = ConfirmationQueue(confirm)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        confirmations.start()
        try:
            yield
        finally:
            confirmations.stop()

    return create_app(
        store=store,
        site=config.site,
        signer=real_signer(config),
        env=template_env(config, auto_reload=True),
        settings=web_settings(config),
        request_confirmation=confirmations,
        clock=utc_now,
        ticks=ticks,
        public=config.folder("public"),
        lifespan=lifespan,
    )


PREVIEW = (
    "This is a preview of the site: PRESS_SECRET_KEY is not set, so nobody can subscribe "
    "here and no email goes out. To take subscriptions, set it to a random string of 32 "
    "characters or more and start press serve again."
)


def has_key(config: Config) -> bool:
    """Whether PRESS_SECRET_KEY is set (a short one is refused by ``build_app``)."""
    return not signer_from(config).is_development


def build_preview_app(config: Config) -> Starlette:
    """The site in ``public/`` alone; every subscription page says they are off."""
    site = config.site
    env = template_env(config, auto_reload=True)
    return create_preview_app(site, env, config.folder("public"), PREVIEW)


def start_watching(config: Config, stop: threading.Event) -> threading.Thread:
    """Publish now, then whenever a post or template changes or a post comes due (as
    ``press run`` does, without the digest), until ``stop`` is set."""
    from press.schedule import Publisher, snapshot, watch

    publisher = Publisher(config)
    seen = snapshot(config)
    due = publisher("start", seen.posts)
    thread = threading.Thread(
        target=watch, args=(config, stop, due, publisher, seen), name="watch", daemon=True
    )
    thread.start()
    return thread


def access_log_config() -> dict[str, Any]:
    """uvicorn's logging, with the tokens in link paths kept out of the access log."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"tokens": {"()": "newsletter.web.RedactTokens"}}
    config["handlers"] = {
        name: {**handler, "filters": ["tokens"]}
        for name, handler in LOGGING_CONFIG["handlers"].items()
    }
    # What --watch publishes, in the same style as uvicorn's own lines.
    config["loggers"] = {
        **LOGGING_CONFIG["loggers"],
        "press": {"handlers": ["default"], "level": "INFO", "propagate": False},
    }
    return config
