"""``press bounces``: the messages that come back after a send, read from a mail server's
pipe or from a mailbox, each handled once (``newsletter.bounce_store``)."""

from __future__ import annotations

import logging
import mailbox
from collections.abc import Iterator
from pathlib import Path

from newsletter.bounce_store import BounceReport, BounceRules, handle, handled_before
from newsletter.bounces import message_key, read_message
from press.clock import utc_now
from press.config import Config
from press.faults import reached
from press.mail import open_store
from press.send import real_signer

log = logging.getLogger(__name__)


class BounceReader:
    """What every way in shares (pipe, mailbox, SMTP listener): the site's key, store
    and rules, and the report of what came."""

    def __init__(self, config: Config) -> None:
        settings = config.delivery
        self.signer = real_signer(config)
        self.engine = open_store(config)
        self.patterns = (settings.return_path, settings.unsubscribe_address)
        self.rules = BounceRules(
            settings.bounce_limit, settings.soft_bounce_limit, settings.soft_bounce_days
        )
        self.report = BounceReport()

    def take(self, data: bytes, to: tuple[str, ...] = ()) -> str:
        """Read one message and act on it, once; its outcome. ``to``: the addresses the
        mail server says it was for."""
        key = message_key(data)
        if handled_before(self.engine, key):  # read again: known by its headers alone
            self.report.add("", "duplicate")
            log.info("duplicate (%s)", key)
            return "duplicate"
        pattern, unsubscribe = self.patterns
        verdict = read_message(data, self.signer, pattern, to, unsubscribe)
        reached("bounces:read")  # a test may kill here: before the message's transaction
        outcome = handle(self.engine, verdict, self.rules, utc_now())
        reached("bounces:handled")  # and here, after it
        self.report.add(verdict.kind, outcome)
        log.info("%s: %s (%s)", verdict.kind, outcome, verdict.key)
        return outcome


def handle_messages(
    config: Config, messages: Iterator[tuple[bytes, tuple[str, ...]]]
) -> BounceReport:
    """Read and act on each message, ``(bytes, envelope recipients)``, one at a time."""
    reader = BounceReader(config)
    for data, to in messages:
        reader.take(data, to)
    return reader.report


def mailbox_messages(path: Path) -> Iterator[tuple[bytes, tuple[str, ...]]]:
    """Each message of a Maildir (a folder with ``cur`` and ``new``) or an mbox file, in
    a stable order; the mailbox is left as it is (handled ones are known by their key)."""
    box: mailbox.Mailbox[mailbox.Message]
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise FileNotFoundError(f"{path}: not a Maildir (no cur/ or new/ in it)")
        box = mailbox.Maildir(str(path), factory=None, create=False)
    elif path.is_file():
        box = mailbox.mbox(str(path), create=False)
    else:
        raise FileNotFoundError(f"{path}: no such Maildir or mbox")
    try:
        for key in sorted(box.iterkeys()):
            yield box.get_bytes(key), ()
    finally:
        box.close()
