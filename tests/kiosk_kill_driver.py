"""Test-only driver for tests/test_kiosk_kill.py: a real kiosk pressed in a tight loop, to be killed.

    python tests/kiosk_kill_driver.py DATA_DIR BROKER_PORT press|drain

A real Kiosk + Outbox + Link + ButtonBox on MockFactory pins, connected to
the broker. `press` prints "EPOCH <epoch>", then presses the buttons in turn
as fast as the outbox commits, and prints "LIT <event id>" (flushed) the
moment each press's LED is lit, which must be after its commit. `drain`
presses nothing, prints "DRAINED" once the collector has acked everything,
and stops cleanly. Not part of the product.
"""

from __future__ import annotations

import itertools
import sys
import threading
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from kiosk.buttons import ButtonBox
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Clock, KioskSettings

KIOSK, SITE = "borne-kill", "mairie"


def main() -> None:
    data_dir, port, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    outbox = Outbox(data_dir / "outbox.db")
    kiosk = Kiosk(KIOSK, SITE, outbox, settings=KioskSettings(scale=4), clock=ClockState(Clock.NTP))
    link = Link(kiosk, BrokerAddress("127.0.0.1", port), ack_timeout_s=1.0, heartbeat_s=5)
    pins = MockFactory()
    box = ButtonBox(kiosk, pin_factory=pins, bounce_time=None, is_online=link.connected.is_set)
    link.start()
    print(f"EPOCH {outbox.epoch}", flush=True)
    if mode == "drain":
        done = threading.Event()
        while outbox.state().pending and not done.wait(0.05):
            pass
        box.close()
        link.stop()
        outbox.close()
        print("DRAINED", flush=True)
        return

    # "LIT" is printed the moment an LED is switched on, with the id of the
    # last committed press: an LED lit before its own commit would report a
    # stale id (or none), which the test sees as a duplicate.
    last: dict[str, str] = {}
    kiosk.on_press(lambda event: last.__setitem__("id", event["id"]))
    confirm = box._confirm

    def confirm_and_report(led) -> None:  # type: ignore[no-untyped-def]
        confirm(led)
        if led.is_lit:
            print(f"LIT {last.get('id')}", flush=True)

    box._confirm = confirm_and_report  # type: ignore[method-assign]
    for position in itertools.cycle(range(1, 5)):
        button = pins.pin(box.pinmap.slots[position - 1].button.bcm)
        button.drive_low()  # the press handler runs in this thread: commit, then the LED
        button.drive_high()


if __name__ == "__main__":
    main()
