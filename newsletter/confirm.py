"""The confirmation email of double opt-in: one link, signed, that expires; and the
queue that sends it after the response, trying again while the mail server is down."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jinja2 import Environment

from feeds.model import Site
from feeds.text import escape_controls
from newsletter.render import header_text


def build_confirmation(
    env: Environment,
    site: Site,
    sender: str,
    email: str,
    confirm_url: str,
    newsletters: list[str],  # their titles, as a sentence says them
    hours: int,
    now: datetime,
) -> EmailMessage:
    """The message asking ``email`` to confirm; plain text, nothing to track."""
    text = env.get_template("confirm.txt.j2").render(
        site=site, confirm_url=confirm_url, newsletters=newsletters, hours=hours
    )
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=76))
    message["From"] = header_text(sender)
    message["To"] = header_text(email)
    message["Subject"] = header_text(f"Confirm your subscription to {site.title}")
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=site.domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    return message


log = logging.getLogger(__name__)
RETRIES = (5.0, 30.0, 120.0, 600.0)  # seconds before each further try of one email


class ConfirmationQueue:
    """Sends confirmation emails from a thread of its own, in order, after the request
    that asked for one has been answered. A send that fails is tried again after 5 s,
    30 s, 2 and 10 minutes, then given up and logged. (Kept in memory: a restart loses
    what was queued; the reader can ask again.)"""

    def __init__(
        self, send: Callable[[str, list[str]], None], retries: tuple[float, ...] = RETRIES
    ) -> None:
        self.send, self.retries = send, retries
        self.jobs: queue.Queue[tuple[str, list[str]] | None] = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._work, name="confirmations", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def __call__(self, email: str, categories: list[str]) -> None:
        self.jobs.put((email, categories))

    def stop(self) -> None:
        self.stopping.set()
        self.jobs.put(None)
        if self.thread.is_alive():
            self.thread.join(timeout=30)

    def _work(self) -> None:
        # What was queued before stop() is still sent; stopping only cuts the retries.
        while (job := self.jobs.get()) is not None:
            email, categories = job
            for attempt, pause in enumerate((0.0, *self.retries)):
                if attempt and self.stopping.wait(pause):
                    log.error("confirmation to %s not sent: stopping", escape_controls(email))
                    break
                try:
                    self.send(email, categories)
                    break
                except Exception as error:  # the mail server or the database: try again
                    log.warning("confirmation to %s not sent: %s", escape_controls(email), error)
            else:
                log.error("confirmation to %s given up", escape_controls(email))
