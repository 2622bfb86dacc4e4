"""The demo's past weeks: answers per kiosk and web form, stored through the collector's own store.

So the dashboard's week-over-week, heat map, reasons, channels and
opening-hours views have something to show from the first start. Each
producer gets its own "history" epoch.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from collector.registry import get_site
from collector.store import store_batch
from demo.world import (
    DAY_FACTOR,
    WEB_SOURCE,
    WEEKDAYS,
    Front,
    Placement,
    followup_choice,
    rating_of,
    visit_moments,
    web_moments,
)
from ressenti.protocol import decode_batch, encode_batch, format_ts, utc_now

CHUNK = 500
FOLLOWUP_AT_MOST = 2  # the default follow-up asks after the two worst faces


def _event(seq: int, moment: datetime, scale: int, rating: int, source: str, rng: random.Random,
           followup: dict[str, str] | None) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(moment.astimezone(UTC)), "clock": "ntp",
            "boot": "history", "up_ms": 0, "question": "overall", "scale": scale, "rating": rating,
            "input": source, "flags": ["rapid_repeat"] if rng.random() < 0.03 else [],
            "followup": followup, "lang": "fr" if rng.random() < 0.9 else "en"}


def _store(db: Database, producer: str, site_id: str, events: list[dict[str, Any]],
           channel: str | None = None) -> None:
    site = get_site(db, site_id)
    assert site is not None
    epoch, now = str(uuid.uuid4()), utc_now()
    for start in range(0, len(events), CHUNK):
        batch = decode_batch(encode_batch(kiosk=producer, site=site_id, epoch=epoch, boot="history", up_ms=0,
                                          events=events[start:start + CHUNK]))
        store_batch(db, batch, site=site, received_at=now, topic="demo history", channel=channel)


def seed_history(db: Database, kiosks: list[Placement], days: int, rng: random.Random,
                 *, web_source: bool = True) -> int:
    """`days` past days for each kiosk (and the web form); return how many answers were stored."""
    today = utc_now().date()
    per_site: dict[str, int] = {}
    for placement in kiosks:
        per_site[placement.site.id] = per_site.get(placement.site.id, 0) + 1
    stored = 0
    for placement in kiosks:
        site = placement.site
        events: list[dict[str, Any]] = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            # A slow rise over the weeks, so this week differs from the last.
            trend = 1 + 0.15 * (days - back) / max(days, 1)
            expected = site.per_day * DAY_FACTOR[WEEKDAYS[day.weekday()]] * trend / per_site[site.id]
            count = max(0, round(rng.gauss(expected, expected ** 0.5))) if expected else 0
            for moment in visit_moments(site, day, count, rng):
                hour = moment.hour + moment.minute / 60
                rating = rating_of(site, hour, rng)
                followup = None
                if placement.front is Front.TOUCH and rating <= FOLLOWUP_AT_MOST:
                    choice = followup_choice(hour, rng)
                    followup = {"question": "why", "choice": choice} if choice else None
                source = "touch" if placement.front is Front.TOUCH else "button"
                events.append(_event(len(events) + 1, moment, site.scale, rating, source, rng, followup))
        _store(db, placement.kiosk, site.id, events)
        stored += len(events)
    source_id, site_id = WEB_SOURCE
    web_site = next((p.site for p in kiosks if p.site.id == site_id), None)
    if web_source and web_site is not None and web_site.web_per_day:
        events = []
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            for moment in web_moments(day, rng.randint(0, 2 * web_site.web_per_day), web_site.zone, rng):
                events.append(_event(len(events) + 1, moment, web_site.scale, rating_of(web_site, 20, rng),
                                     "web", rng, None))
        _store(db, source_id, site_id, events, channel="web")
        stored += len(events)
    return stored
