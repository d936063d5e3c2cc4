"""The confirmation email of double opt-in: one link, signed, that expires."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from jinja2 import Environment

from feeds.model import Site
from newsletter.render import header_text


def build_confirmation(
    env: Environment,
    site: Site,
    sender: str,
    email: str,
    confirm_url: str,
    categories: list[str],
    hours: int,
    now: datetime,
) -> EmailMessage:
    """The message asking ``email`` to confirm; plain text, nothing to track."""
    text = env.get_template("confirm.txt.j2").render(
        site=site, confirm_url=confirm_url, categories=categories, hours=hours
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
