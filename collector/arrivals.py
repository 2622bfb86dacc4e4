"""How far back a producer may date an event, and which arrivals are late (issue 17).

A source token or a stolen kiosk credential could otherwise add unflagged
events dated back to 2024 with `clock: ntp` and silently change published
figures. Two bounds, per deployment:

- `max_past_days`: an event counted more than this before it arrived is
  rejected with its reason (and in the ack, so the kiosk drops it). A kiosk's
  outbox keeps 90 days (kiosk/outbox.py `max_age_days`): nothing honest is
  older, whatever the outage.
- `late_after_days`: an event whose site-local day is more than this before
  the local day it arrived is stored with `late = 1` and the flag `late`
  (so filtered figures leave it out, raw figures keep it) and counted per
  site, kiosk and day in `late_arrivals`, which survives retention.

Only producers (MQTT, HTTP sources) are held to it; history imported with
`store_batch` (demo, tests) is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from ressenti.errors import BadConfig

LATE_FLAG = "late"


@dataclass(frozen=True)
class ArrivalPolicy:
    max_past_days: int = 92  # the kiosk outbox's 90 days, and a margin for clocks
    late_after_days: int = 3  # a site closed over a long weekend still sends on time

    def __post_init__(self) -> None:
        if not (isinstance(self.max_past_days, int) and 1 <= self.max_past_days <= 3660):
            raise BadConfig(f"max_past_days {self.max_past_days!r} must be a whole number of days from 1 to 3660")
        if not (isinstance(self.late_after_days, int) and 0 <= self.late_after_days <= self.max_past_days):
            raise BadConfig(f"late_after_days {self.late_after_days!r} must be a whole number of days from 0 to"
                            f" max_past_days ({self.max_past_days})")

    @cached_property  # both are read for every event stored
    def max_past(self) -> timedelta:
        return timedelta(days=self.max_past_days)

    @cached_property
    def late_after(self) -> timedelta:
        return timedelta(days=self.late_after_days)

    def too_old(self, counted_at: datetime, received_at: datetime) -> str | None:
        """Why an event counted at `counted_at` is refused, or None."""
        if received_at - counted_at <= self.max_past:
            return None
        return (f"counted at {counted_at.isoformat()[:19]}Z, more than {self.max_past_days} days before it arrived:"
                " older than any kiosk outbox holds")

    def late_day(self, counted_at: datetime, received_at: datetime, zone: Any) -> str | None:
        """The site-local day of a late event (YYYY-MM-DD), or None when it is on time."""
        if received_at - counted_at < self.late_after:
            return None  # the usual case, without time zones
        day = counted_at.astimezone(zone).date()
        if (received_at.astimezone(zone).date() - day).days <= self.late_after_days:
            return None
        return day.isoformat()


def arrival_policy_from(config: Mapping[str, Any]) -> ArrivalPolicy:
    """The policy of a Flask config (`MAX_PAST_DAYS`, `LATE_AFTER_DAYS`), defaults where unset."""
    defaults = ArrivalPolicy()
    try:
        max_past = int(config.get("MAX_PAST_DAYS") or defaults.max_past_days)
        late_after = int(config.get("LATE_AFTER_DAYS", defaults.late_after_days))
    except (TypeError, ValueError):
        raise BadConfig("MAX_PAST_DAYS and LATE_AFTER_DAYS must be whole numbers of days") from None
    return ArrivalPolicy(max_past, late_after)
