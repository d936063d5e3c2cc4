"""Subscribing: the form, and the double opt-in confirmation link."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from newsletter.store import (
    Subscriber,
    find_subscriber,
    set_newsletters,
    set_status,
    subscriber_by_id,
)
from newsletter.subscribers import InvalidEmail, normalise_email
from newsletter.tokens import TokenError, read_confirm_subject
from newsletter.web_pages import MAX_EMAIL, Pages, RequestConfirmation

NO_LONGER = "this link no longer works: it was for an earlier subscription"


def subscribe_routes(pages: Pages, request_confirmation: RequestConfirmation) -> list[Route]:
    settings = pages.settings

    async def subscribe_form(request: Request) -> Response:
        email = request.query_params.get("email", "")[:MAX_EMAIL]
        default = [settings.default_newsletter]
        return pages.page(request, "subscribe.html.j2", email=email, selected=default)

    async def subscribe(request: Request) -> Response:
        form = await pages.form(request)
        if not pages.csrf_ok(request, form):
            message = "The form had expired. Please submit it again."
            return pages.message(request, "Please try again", message, 403)
        client = request.client.host if request.client else "unknown"
        if not pages.limits.client_allowed(client, pages.ticks()):
            message = "Too many attempts. Please try again later."
            return pages.message(request, "Slow down", message, 429)
        raw = str(form.get("email", ""))[: MAX_EMAIL + 1]
        categories = pages.chosen(form)

        def again(error: str) -> Response:
            return pages.page(
                request, "subscribe.html.j2", 400, email=raw[:MAX_EMAIL], selected=categories,
                error=error,
            )  # fmt: skip

        try:
            if len(raw) > MAX_EMAIL:
                raise InvalidEmail("that address is too long")
            email = normalise_email(raw)
        except InvalidEmail as error:
            return again(f"That does not look like an email address: {error}")
        if not categories:
            return again("Choose at least one digest.")
        # The same answer, in the same time, for new, pending and confirmed addresses: the
        # database and the mail are the queue's work, after the response.
        if pages.limits.address_allowed(email, pages.ticks()):
            request_confirmation(email, categories)
        return pages.message(
            request,
            "Check your inbox",
            f"If {email} can subscribe, a confirmation link is on its way to it. "
            "Open it to start receiving the digest.",
        )

    def requested(token: str) -> tuple[Subscriber, list[str]]:
        """The subscriber a confirm link is for, if it is still good for them."""
        subject = pages.signer.verify("confirm", token, max_age=settings.confirm_hours * 3600)
        request = read_confirm_subject(subject)
        if request.subscriber_id is not None:
            found = subscriber_by_id(pages.store, request.subscriber_id)
            if found is None or found.version != request.version:
                raise TokenError(NO_LONGER)
        else:  # a link made before subscriber ids: only while still pending
            found = find_subscriber(pages.store, request.email or "")
            if found is None or found.status not in ("pending", "confirmed"):
                raise TokenError(NO_LONGER)
        return found, list(request.categories)

    def digests(categories: list[str]) -> list[str]:
        return [pages.describe(c) for c in categories]

    async def confirm_page(request: Request) -> Response:
        token = request.path_params["token"]
        try:
            subscriber, categories = await run_in_threadpool(requested, token)
        except TokenError as error:
            return pages.broken_link(request, str(error))
        if subscriber.status == "confirmed":
            return subscribed(request, subscriber, categories)
        return pages.page(
            request, "confirm.html.j2", email=subscriber.email, digests=digests(categories),
            token=token,
        )  # fmt: skip

    def subscribed(request: Request, subscriber: Subscriber, categories: list[str]) -> Response:
        return pages.message(
            request,
            "You are subscribed",
            f"Thank you: {subscriber.email} will receive {', '.join(digests(categories))}.",
        )

    async def confirm(request: Request) -> Response:
        form = await pages.form(request)
        if not pages.csrf_ok(request, form):
            return pages.stale_form(request)

        def confirmed() -> tuple[Subscriber, list[str]]:
            subscriber, categories = requested(request.path_params["token"])
            set_newsletters(pages.store, subscriber.email, categories)
            if subscriber.status != "confirmed":
                set_status(pages.store, subscriber.email, "confirmed", pages.clock())
            return subscriber, categories

        try:
            subscriber, categories = await run_in_threadpool(confirmed)
        except TokenError as error:
            return pages.broken_link(request, str(error))
        return subscribed(request, subscriber, categories)

    routes: list[Any] = [
        Route("/subscribe", subscribe_form, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/confirm/{token}", confirm_page, methods=["GET"]),
        Route("/confirm/{token}", confirm, methods=["POST"]),
    ]
    return routes
