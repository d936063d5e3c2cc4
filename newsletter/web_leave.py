"""Leaving and choosing: the unsubscribe page, RFC 8058 one-click, and preferences.

Every page says the subscriber's state as it is: someone already unsubscribed is told
so, and preferences are not "saved" for someone who is not subscribed.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from newsletter.statuses import LEFT
from newsletter.store import (
    Subscriber,
    find_subscriber,
    set_newsletters,
    set_status,
    subscriber_by_id,
)
from newsletter.tokens import TokenError, link_subject, read_link_subject
from newsletter.web_pages import Pages

ONE_CLICK = [("List-Unsubscribe", "One-Click")]
GONE = LEFT


def leave_routes(pages: Pages) -> list[Route]:
    site = pages.site

    def subscriber_of(purpose: str, token: str) -> Subscriber | None:
        """The subscriber a link names (None when there is none); TokenError if bad."""
        reference = read_link_subject(pages.signer.verify(purpose, token), pages.clock())
        if isinstance(reference, int):
            return subscriber_by_id(pages.store, reference)
        return find_subscriber(pages.store, reference)  # a link made before ids

    def unsubscribe_now(token: str) -> Subscriber | None:
        subscriber = subscriber_of("unsubscribe", token)
        if subscriber is not None and subscriber.status not in GONE:
            set_status(pages.store, subscriber.email, "unsubscribed", pages.clock())
        return subscriber

    def gone(request: Request, subscriber: Subscriber, already: bool = False) -> Response:
        title = "You are already unsubscribed" if already else "You are unsubscribed"
        message = f"{subscriber.email} will get no more email from {site.title}."
        return pages.message(request, title, message)

    def not_subscribed(request: Request, subscriber: Subscriber | None) -> Response:
        who = subscriber.email if subscriber else "This address"
        return pages.message(request, "Not subscribed", f"{who} is not subscribed.", 404)

    async def unsubscribe_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber = await run_in_threadpool(subscriber_of, "unsubscribe", token)
        except TokenError as error:
            return pages.broken_link(request, str(error))
        if subscriber is None:
            return not_subscribed(request, None)
        if subscriber.status in GONE:
            return gone(request, subscriber, already=True)
        return pages.page(request, "unsubscribe.html.j2", email=subscriber.email, token=token)

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        form = await pages.form(request)
        fields = [(key, str(value).strip()) for key, value in form.multi_items()]
        one_click = any(key == "List-Unsubscribe" for key, _ in fields)
        if one_click and fields != ONE_CLICK:
            # RFC 8058: exactly one key and value; no cookie or CSRF token is needed.
            return PlainTextResponse("expected the body List-Unsubscribe=One-Click\n", 400)
        if not one_click and not pages.csrf_ok(request, form):
            return pages.stale_form(request)
        try:
            subscriber = await run_in_threadpool(unsubscribe_now, token)
        except TokenError as error:
            if one_click:
                return PlainTextResponse(f"{error}\n", 400)
            return pages.broken_link(request, str(error))
        if one_click:  # a plain 200, whatever the state: unsubscribing twice is fine
            return PlainTextResponse("unsubscribed\n")
        if subscriber is None:
            return not_subscribed(request, None)
        return gone(request, subscriber, already=subscriber.status in GONE)

    async def preferences_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber = await run_in_threadpool(subscriber_of, "preferences", token)
        except TokenError as error:
            return pages.broken_link(request, str(error))
        if subscriber is None or subscriber.status in GONE:
            return not_subscribed(request, subscriber)
        return pages.page(
            request,
            "preferences.html.j2",
            email=subscriber.email,
            token=token,
            selected=list(subscriber.choices),
            unsubscribe_token=pages.signer.sign("unsubscribe", link_subject(subscriber.id)),
        )

    async def preferences(request: Request) -> Response:
        token = request.path_params["token"]
        form = await pages.form(request)
        if not pages.csrf_ok(request, form):
            return pages.stale_form(request)
        categories = pages.chosen(form)

        def save() -> Subscriber | None:
            subscriber = subscriber_of("preferences", token)
            if subscriber is None or subscriber.status in GONE:
                return subscriber
            if categories:
                set_newsletters(pages.store, subscriber.email, categories)
            else:  # nothing chosen: that is leaving
                set_status(pages.store, subscriber.email, "unsubscribed", pages.clock())
            return subscriber

        try:
            subscriber = await run_in_threadpool(save)
        except TokenError as error:
            return pages.broken_link(request, str(error))
        if subscriber is None or subscriber.status in GONE:
            return not_subscribed(request, subscriber)
        if not categories:
            return gone(request, subscriber)
        chosen = ", ".join(pages.describe(c) for c in categories)
        return pages.message(
            request, "Preferences saved", f"{subscriber.email} will receive: {chosen}."
        )

    routes: list[Any] = [
        Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
        Route("/preferences/{token}", preferences_page, methods=["GET"]),
        Route("/preferences/{token}", preferences, methods=["POST"]),
    ]
    return routes
