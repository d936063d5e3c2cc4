"""A subscriber's statuses (no imports: the CLI names them without loading the store)."""

from __future__ import annotations

STATUSES = ("pending", "confirmed", "unsubscribed", "bounced", "complained")
LEFT = ("unsubscribed", "bounced", "complained")  # left, or suppressed: never mailed again
SUPPRESSED = ("bounced", "complained")  # not even a confirmation link goes to these
