"""The demo's live visitors: simulated kiosks running the real firmware, and a web form posting over HTTP.

Button kiosks are the real button box on gpiozero's MockFactory, their
pins pressed by visitors; the touch kiosk is the touch screen's commit
path (`kiosk.touch.presser`, no Kivy window) with the follow-up question
the collector pushed to it; the web form posts batches to
`POST /api/v1/events` with its source token, as a real form would.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from gpiozero.pins.mock import MockFactory

from demo.world import DemoSite, Front, Placement, followup_choice, rating_of
from kiosk.buttons import ButtonBox
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from kiosk.pinmap import rating_for_position
from kiosk.touch.followup import followup_or_none
from kiosk.touch.presser import Presser, Tap
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Clock, Input, KioskSettings, encode_batch, format_ts, utc_now

log = logging.getLogger(__name__)


class Simulated(Protocol):
    site: DemoSite
    unhappy_until: float  # time.monotonic() until which visitors are unhappy (demo.world.UNHAPPY_SITE)

    def visit(self, rng: random.Random, stop: threading.Event) -> None: ...

    def stop(self) -> None: ...


def _hour_now(site: DemoSite) -> float:
    now = datetime.now(site.zone)
    return now.hour + now.minute / 60


@dataclass
class SimulatedKiosk:
    """A button box on mock pins; a visitor drives a pin low and high, as a finger would."""

    site: DemoSite
    kiosk: Kiosk
    link: Link
    box: ButtonBox
    pins: MockFactory
    unhappy_until: float = 0.0

    def press_position(self, position: int) -> int:
        slot = self.box.pinmap.slots[position - 1]
        pin = self.pins.pin(slot.button.bcm)
        pin.drive_low()
        pin.drive_high()
        return rating_for_position(position, self.kiosk.settings.scale)

    def visit(self, rng: random.Random, stop: threading.Event) -> None:
        rating = rating_of(self.site, _hour_now(self.site), rng, time.monotonic() < self.unhappy_until)
        position = self.kiosk.settings.scale + 1 - rating
        presses = rng.randint(3, 6) if rng.random() < 0.04 else 1  # now and then a child's burst
        for _ in range(presses):
            self.press_position(position)
            if stop.wait(0.3):
                return

    def stop(self) -> None:
        self.box.close()
        self.link.stop()
        self.kiosk.outbox.close()


@dataclass
class SimulatedTouchKiosk:
    """The touch screen's commit path: a tap, the follow-up answered (or skipped), then the commit."""

    site: DemoSite
    kiosk: Kiosk
    link: Link
    presser: Presser
    unhappy_until: float = 0.0

    def visit(self, rng: random.Random, stop: threading.Event) -> None:
        settings = self.kiosk.settings
        hour = _hour_now(self.site)
        rating = rating_of(self.site, hour, rng, time.monotonic() < self.unhappy_until)
        tapped_at = self.kiosk.monotonic()
        followup = followup_or_none(settings.followup, settings.scale)
        answer = None
        if followup is not None and followup.applies_to(rating):
            if stop.wait(rng.uniform(1.5, 4.0)):  # reading the question
                return
            choice = followup_choice(hour, rng)
            answer = followup.answer(choice) if choice else None
        tap = Tap(rating, settings.scale, settings.question_id, "fr" if rng.random() < 0.9 else "en",
                  Input.TOUCH, followup=answer, pressed_at=tapped_at)
        self.presser.submit(tap, lambda result: log.debug("touch %s: %s", self.kiosk.kiosk_id, result.outcome))

    def stop(self) -> None:
        self.presser.close()
        self.link.stop()
        self.kiosk.outbox.close()


class WebForm:
    """A web satisfaction form: posts each answer to the collector's HTTP API with its source token."""

    def __init__(self, source_id: str, site: DemoSite, base_url: str, token: str) -> None:
        self.source_id, self.site = source_id, site
        self.url = f"{base_url}/api/v1/events"
        self.token = token
        self.epoch = str(uuid.uuid4())  # a new one each demo start: seqs restart at 1
        self.seq = 0
        self.posted = 0

    def visit(self, rng: random.Random, stop: threading.Event) -> None:
        self.seq += 1
        event = {"id": str(uuid.uuid4()), "seq": self.seq, "ts": format_ts(utc_now()), "clock": "ntp",
                 "boot": "web", "up_ms": 0, "question": "overall", "scale": self.site.scale,
                 "rating": rating_of(self.site, 20, rng), "input": "web", "flags": [], "followup": None,
                 "lang": "fr"}
        body = encode_batch(kiosk=self.source_id, site=self.site.id, epoch=self.epoch, boot="web", up_ms=0,
                            events=[event])
        request = urllib.request.Request(self.url, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                ack = json.loads(response.read())
            self.posted += 1
            log.debug("web form %s: ack through %s", self.source_id, ack.get("through"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            log.warning("web form %s could not post: %s", self.source_id, exc)

    def stop(self) -> None:
        pass


def start_simulated(placement: Placement, broker: BrokerAddress, data_dir: Path) -> Simulated:
    outbox = Outbox(data_dir / "kiosks" / placement.kiosk / "outbox.db")
    kiosk = Kiosk(placement.kiosk, placement.site.id, outbox, settings=KioskSettings(scale=placement.site.scale),
                  clock=ClockState(Clock.NTP))
    link = Link(kiosk, broker, heartbeat_s=30)
    simulated: Simulated
    if placement.front is Front.TOUCH:
        simulated = SimulatedTouchKiosk(placement.site, kiosk, link, Presser(kiosk, post=lambda done: done()))
    else:
        pins = MockFactory()
        box = ButtonBox(kiosk, pin_factory=pins, is_online=link.connected.is_set)
        simulated = SimulatedKiosk(placement.site, kiosk, link, box, pins)
    link.start()
    return simulated


def visitor_loop(simulated: Simulated, stop: threading.Event, mean_gap_s: float, rng: random.Random) -> None:
    """Visitors leave a desk at least a few seconds apart (past the kiosk's 4 s response interval);
    only the occasional child's burst gets flagged."""
    while not stop.wait(4.5 + rng.expovariate(1 / mean_gap_s)):
        try:
            simulated.visit(rng, stop)
        except Exception:  # one visitor must not end the demo's traffic
            log.exception("simulated visitor failed")


def web_loop(form: WebForm, stop: threading.Event, mean_gap_s: float, rng: random.Random) -> None:
    """Fewer answers come from the web form than from a kiosk."""
    while not stop.wait(2 + rng.expovariate(1 / (3 * mean_gap_s))):
        form.visit(rng, stop)
