"""What the demo simulates: its sites (scales, opening hours), kiosks and web form, and when visitors come.

Volumes follow a French reception desk: nobody before opening or at
night, a peak around 10h and a smaller one around 14h, Mondays busier,
Saturdays short. Moods sour a little at the peaks (waiting time).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from collector.config_push import DEFAULT_FOLLOWUP
from ressenti.protocol import KioskSettings

DEMO_ORG = "demo-ville"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Front(StrEnum):
    """How a simulated kiosk is pressed."""

    BUTTONS = "buttons"  # the button box on gpiozero's mock pins
    TOUCH = "touch"  # the touch screen's commit path (no Kivy window), with the follow-up question


@dataclass(frozen=True)
class DemoSite:
    id: str
    name: str
    scale: int
    hours: dict[str, str]  # the registry's opening hours: {"mon": "08:30-12:00,13:30-17:30", ...}
    per_day: int  # kiosk answers on an ordinary open day
    mood: tuple[float, ...]  # chance of each face, best first
    web_per_day: int = 0  # answers through its web form (an HTTP source)
    zone: ZoneInfo = field(default=ZoneInfo("Europe/Paris"), compare=False)


_WEEK = "08:30-12:00,13:30-17:30"
DEMO_SITES = (
    DemoSite("mairie-centre", "Mairie — accueil central", 5,
             {**{d: _WEEK for d in WEEKDAYS[:5]}, "sat": "09:00-12:00"}, per_day=70,
             mood=(0.42, 0.3, 0.13, 0.09, 0.06)),
    DemoSite("france-services-nord", "France Services Nord", 4,
             {d: "09:00-12:30,13:30-17:00" for d in WEEKDAYS[:5]}, per_day=45,
             mood=(0.48, 0.3, 0.14, 0.08), web_per_day=8),
    DemoSite("ccas-solidarites", "CCAS — solidarités", 3,
             {d: "09:00-12:00,14:00-16:30" for d in ("mon", "tue", "thu", "fri")}, per_day=25,
             mood=(0.62, 0.25, 0.13)),
)
WEB_SOURCE = ("france-services-nord-web", "france-services-nord")  # (source id, site)
# An unhappy morning, so that a newcomer sees an alert raised and e-mailed (docs/alerts.md): for
# the first minutes of a demo run, this site's visitors mostly leave a bottom face.
UNHAPPY_SITE = "mairie-centre"
UNHAPPY_SPELL_S = 600.0
DAY_FACTOR = {"mon": 1.25, "tue": 1.0, "wed": 0.9, "thu": 1.0, "fri": 0.85, "sat": 0.7, "sun": 0.0}


@dataclass(frozen=True)
class Placement:
    kiosk: str
    site: DemoSite
    front: Front


def placements(count: int) -> list[Placement]:
    """`count` kiosks spread over the sites; the first is the touch screen, at the 5-face site."""
    out = []
    for n in range(count):
        site = DEMO_SITES[n % len(DEMO_SITES)]
        out.append(Placement(f"{site.id}-borne-{n // len(DEMO_SITES) + 1}", site,
                             Front.TOUCH if n == 0 else Front.BUTTONS))
    return out


def touch_settings(scale: int) -> KioskSettings:
    """What the demo pushes to its touch kiosk: the scale and the collector's default follow-up."""
    return KioskSettings(scale=scale, followup=DEFAULT_FOLLOWUP)


def hour_weight(hour: float) -> float:
    """Visitors per minute, relative: peaks at 10h and 14h (local time)."""
    return 0.15 + math.exp(-((hour - 10.3) ** 2) / 1.2) + 0.8 * math.exp(-((hour - 14.3) ** 2) / 1.0)


def open_ranges(site: DemoSite, day: date) -> list[tuple[time, time]]:
    spec = site.hours.get(WEEKDAYS[day.weekday()])
    if not spec:
        return []
    ranges = []
    for part in spec.split(","):
        start, end = (time.fromisoformat(t) for t in part.split("-"))
        ranges.append((start, end))
    return ranges


def visit_moments(site: DemoSite, day: date, count: int, rng: random.Random) -> list[datetime]:
    """`count` moments within the day's opening hours, denser at the peaks (local time, aware)."""
    minutes = []
    for start, end in open_ranges(site, day):
        moment = datetime.combine(day, start, site.zone)
        stop = datetime.combine(day, end, site.zone)
        while moment < stop:
            minutes.append(moment)
            moment += timedelta(minutes=1)
    if not minutes or count <= 0:
        return []
    weights = [hour_weight(m.hour + m.minute / 60) for m in minutes]
    return sorted(m + timedelta(seconds=rng.randrange(60)) for m in rng.choices(minutes, weights, k=count))


def web_moments(day: date, count: int, zone: ZoneInfo, rng: random.Random) -> list[datetime]:
    """A web form is answered from home: 8h to 22h, most in the evening."""
    hours = list(range(8, 22))
    weights = [1 + (2 if h >= 18 else 0) for h in hours]
    return sorted(datetime.combine(day, time(h, rng.randrange(60), rng.randrange(60)), zone)
                  for h in rng.choices(hours, weights, k=count))


def mood_at(site: DemoSite, hour: float) -> list[float]:
    """The site's mood, a little worse at the peaks (the queue)."""
    crowd = hour_weight(hour) / hour_weight(10.3)
    worst = len(site.mood) - 1
    return [p * (1 - 0.35 * crowd) if i == 0 else p * (1 + 0.5 * crowd) if i == worst else p
            for i, p in enumerate(site.mood)]


def rating_of(site: DemoSite, hour: float, rng: random.Random, unhappy: bool = False) -> int:
    """A rating (1 = worst, scale = best) drawn from the mood at that hour; `unhappy`: the mood upside down."""
    mood = list(reversed(site.mood)) if unhappy else mood_at(site, hour)
    position = rng.choices(range(1, site.scale + 1), mood)[0]
    return site.scale + 1 - position


def followup_choice(hour: float, rng: random.Random) -> str | None:
    """What went wrong, or None when the visitor skips (3 in 10): waiting time at the peaks."""
    if rng.random() < 0.3:
        return None
    crowd = hour_weight(hour) / hour_weight(10.3)
    return rng.choices(["wait", "answer", "welcome", "place"], [1 + 3 * crowd, 1.5, 0.8, 0.5])[0]
