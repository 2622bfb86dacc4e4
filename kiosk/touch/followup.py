"""The optional follow-up question for low ratings, as the touch screen uses it.

The format and its validation are part of the config contract, so they live in
ressenti/protocol.py (`parse_followup`): the collector checks a follow-up before
it pushes one, the kiosk when it receives one. Documented in docs/touch.md.
Here: the touch screen's tolerance, for settings built without that check.
"""

from __future__ import annotations

import logging
from typing import Any

from ressenti.errors import BadFollowup
from ressenti.protocol import Choice, Followup, parse_followup

__all__ = ["BadFollowup", "Choice", "Followup", "followup_or_none", "parse_followup"]

log = logging.getLogger(__name__)


def followup_or_none(raw: Any, scale: int) -> Followup | None:
    """parse_followup, but a bad follow-up is logged and ignored: ratings go on without it."""
    try:
        return parse_followup(raw, scale)
    except BadFollowup as exc:
        log.error("ignoring the follow-up question of the kiosk settings: %s", exc)
        return None
