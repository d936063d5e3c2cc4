"""``press bounces``: the messages that come back after a send, read from a mail server's
pipe or from a mailbox, each handled once (``newsletter.bounce_store``)."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

from newsletter.bounce_store import BounceReport, BounceRules, handle, handled_before
from newsletter.bounces import Verdict, message_key, read_message
from press.clock import utc_now
from press.config import Config
from press.faults import reached
from press.mail import open_store
from press.send import real_signer


def rules(config: Config) -> BounceRules:
    settings = config.delivery
    return BounceRules(settings.bounce_limit, settings.soft_bounce_limit, settings.soft_bounce_days)


def handle_messages(
    config: Config, messages: Iterator[tuple[bytes, tuple[str, ...]]]
) -> BounceReport:
    """Read and act on each message, ``(bytes, envelope recipients)``, one at a time."""
    signer = real_signer(config)
    engine = open_store(config)
    pattern, unsubscribe = config.delivery.return_path, config.delivery.unsubscribe_address
    found = rules(config)
    report = BounceReport()
    for data, to in messages:
        key = message_key(data)
        if handled_before(engine, key):  # read again: known by its headers, not parsed
            report.add(Verdict("unrelated", key), "duplicate")
            continue
        verdict = read_message(data, signer, pattern, to, unsubscribe)
        reached("bounces:read")  # a test may kill here: before the message's transaction
        report.add(verdict, handle(engine, verdict, found, utc_now()))
        reached("bounces:handled")  # and here, after it
    return report


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
