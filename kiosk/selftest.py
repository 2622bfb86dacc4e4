"""`ressenti kiosk selftest`: a technician's check of the buttons, LEDs, broker and clock.

It lights each button's LED in turn and waits for that button to be pressed,
connects to the broker with the kiosk's own credentials (under another client
id, so a running kiosk is not kicked off), reads the clock state and the
outbox, and prints one line per check. Nothing is recorded. Run it with the
kiosk service stopped: the service holds the GPIO pins.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import paho.mqtt.client as mqtt
from gpiozero import LED, Button, Buzzer
from gpiozero.pins import Factory

from kiosk.clock import ClockState
from kiosk.config import KioskConfig
from kiosk.outbox import peek
from kiosk.pinmap import PinMap, load_pinmap
from ressenti.mqtt import make_client
from ressenti.protocol import Clock, Kind, decode_settings, topic

BUTTON_TIMEOUT_S = 15.0
BROKER_TIMEOUT_S = 10.0
LOW_DISK_MB = 100


class Verdict(StrEnum):
    OK = "OK"
    WARN = "WARN"  # works, but a technician should look
    FAIL = "FAIL"
    LOOK = "LOOK"  # shown to the technician's eyes and ears; the program cannot tell


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str


def check_buttons(pinmap: PinMap, scale: int, pin_factory: Factory | None, *,
                  timeout_s: float = BUTTON_TIMEOUT_S, buzzer: bool = False,
                  say: Callable[[str], None] = print, press_lit_buttons: bool = False) -> list[Check]:
    """Light LED n, wait for button n; a press of another button says the wiring is crossed.

    `press_lit_buttons` (mock pins): the check drives each lit button's pin itself, so a
    laptop's self-test goes through the same steps instead of failing every button.
    """
    slots = pinmap.slots_for_scale(scale)
    devices: list[LED | Button | Buzzer] = []
    try:
        status = LED(pinmap.status_led.bcm, pin_factory=pin_factory)
        devices.append(status)
        beeper = Buzzer(pinmap.buzzer.bcm, pin_factory=pin_factory) if buzzer else None
        if beeper:
            devices.append(beeper)
        pairs = []
        for slot in slots:
            button = Button(slot.button.bcm, pull_up=True, bounce_time=pinmap.bounce_time_s,
                            pin_factory=pin_factory)
            led = LED(slot.led.bcm, pin_factory=pin_factory)
            devices += [button, led]
            pairs.append((slot, button, led))
    except Exception as exc:  # gpiozero and lgpio raise their own types
        for device in devices:
            device.close()
        return [Check("GPIO", Verdict.FAIL, f"cannot use the pins ({exc}); is the kiosk service "
                      "still running? systemctl stop ressenti-kiosk, then try again")]
    pressed: list[int] = []
    press = threading.Event()

    def handler(position: int) -> Callable[[], None]:
        def on_press() -> None:
            pressed.append(position)
            press.set()
        return on_press

    for slot, button, _ in pairs:
        button.when_pressed = handler(slot.position)
    checks = []
    try:
        for slot, _, led in pairs:
            name = f"button {slot.position}"
            where = (f"button GPIO {slot.button.bcm} (header pin {slot.button.physical}), "
                     f"LED GPIO {slot.led.bcm} (pin {slot.led.physical})")
            pressed.clear()
            press.clear()
            led.on()
            say(f"Appuyez sur le bouton allumé n°{slot.position} / Press the lit button {slot.position}")
            started = time.monotonic()
            if press_lit_buttons and pin_factory is not None and led.is_lit:
                pin = pin_factory.pin(slot.button.bcm)
                pin.drive_low()  # type: ignore[attr-defined]  # a MockPin
                pin.drive_high()  # type: ignore[attr-defined]
            press.wait(timeout_s)
            led.off()
            if not pressed:
                checks.append(Check(name, Verdict.FAIL, f"no press in {timeout_s:g} s: check {where}"))
            elif pressed[0] != slot.position:
                checks.append(Check(name, Verdict.FAIL, f"button {pressed[0]} pressed while LED "
                                    f"{slot.position} was lit: crossed wires? check {where}"))
            elif press_lit_buttons:
                checks.append(Check(name, Verdict.OK, "pressed by the self-test itself (mock pins)"))
            else:
                checks.append(Check(name, Verdict.OK, f"pressed after {time.monotonic() - started:.1f} s"))
        status.blink(on_time=0.1, off_time=0.1, n=5, background=False)
        detail = f"status LED (GPIO {pinmap.status_led.bcm}) blinked 5 times"
        if beeper:
            beeper.beep(on_time=0.2, off_time=0.2, n=2, background=False)
            detail += f", buzzer (GPIO {pinmap.buzzer.bcm}) beeped twice"
        checks.append(Check("status LED", Verdict.LOOK, detail))
    finally:
        for device in devices:
            device.close()
    return checks


def check_broker(config: KioskConfig, *, timeout_s: float = BROKER_TIMEOUT_S) -> Check:
    """Connect with the kiosk's credentials and TLS settings; read the retained config if any."""
    address = config.broker
    client = make_client(f"ressenti-selftest-{config.kiosk}", address)
    connected, retained = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: object, props: object) -> None:
        outcome["reason"] = str(reason)
        if not getattr(reason, "is_failure", True):
            c.subscribe(topic(config.site, config.kiosk, Kind.CONFIG), qos=1)
        connected.set()

    def on_message(c: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        try:
            outcome["config"] = f"config rev {decode_settings(json.loads(message.payload)).rev}"
        except ValueError as exc:
            outcome["config"] = f"retained config is invalid: {exc}"
        retained.set()

    client.on_connect, client.on_message = on_connect, on_message
    who = f" as {address.username}" if address.username else ""
    started = time.monotonic()
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:  # refused, unreachable, TLS handshake (ssl.SSLError is an OSError)
        fix = " (ca_file?)" if address.tls and "certificate" in str(exc).lower() else ""
        return Check("broker", Verdict.FAIL, f"cannot connect to {address.url}{who}: {exc}{fix}")
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            return Check("broker", Verdict.FAIL, f"no answer from {address.url} in {timeout_s:g} s")
        elapsed = time.monotonic() - started
        if outcome["reason"] != "Success":
            return Check("broker", Verdict.FAIL, f"{address.url} refused{who}: {outcome['reason']}"
                         " (username, password_file?)")
        retained.wait(min(1.0, timeout_s))  # Mosquitto sends a retained config right after SUBACK
        config_note = outcome.get("config", "no config pushed yet")
        return Check("broker", Verdict.OK, f"connected to {address.url}{who} in {elapsed:.2f} s; {config_note}")
    finally:
        client.disconnect()
        client.loop_stop()


def check_clock(clock: ClockState) -> Check:
    state = clock.current()
    now = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    if state is Clock.NTP:
        return Check("clock", Verdict.OK, f"synchronised by NTP ({now})")
    if state is Clock.RTC:
        return Check("clock", Verdict.OK, f"set from the battery RTC at boot, NTP not yet ({now})")
    return Check("clock", Verdict.WARN, f"not synchronised ({now}): presses are kept and marked "
                 "'unsynced'; check NTP (timedatectl) or fit an RTC")


def check_outbox(config: KioskConfig) -> Check:
    snapshot = peek(config.outbox_path)
    where = config.data_dir
    while not where.exists() and where != where.parent:  # created at the kiosk's first start
        where = where.parent
    try:
        free_mb = shutil.disk_usage(where).free // (1024 * 1024)
    except OSError as exc:
        return Check("outbox", Verdict.FAIL, f"data_dir {config.data_dir}: {exc.strerror}")
    queue = (f"{snapshot.queue.pending} pending, {snapshot.queue.dropped} dropped"
             if snapshot else "no outbox yet (created at first start)")
    verdict = Verdict.WARN if free_mb < LOW_DISK_MB else Verdict.OK
    return Check("outbox", verdict, f"{queue}; {free_mb} MB free in {config.data_dir}")


def run_selftest(config: KioskConfig, *, pin_factory: Factory | None = None,
                 button_timeout_s: float = BUTTON_TIMEOUT_S, say: Callable[[str], None] = print,
                 pinmap: PinMap | None = None, press_lit_buttons: bool = False) -> bool:
    """Run every check, print the report through `say`; True when nothing failed."""
    snapshot = peek(config.outbox_path)
    settings = (decode_settings(snapshot.settings) if snapshot and snapshot.settings
                else config.settings)
    if settings.rev < config.settings.rev:
        settings = config.settings
    say(f"ressenti self-test: kiosk {config.kiosk}, site {config.site}, {settings.scale} buttons")
    checks = check_buttons(pinmap or load_pinmap(), settings.scale, pin_factory,
                           timeout_s=button_timeout_s, buzzer=config.buzzer, say=say,
                           press_lit_buttons=press_lit_buttons)
    checks += [check_broker(config), check_clock(ClockState(config.clock)), check_outbox(config)]
    width = max(len(c.name) for c in checks)
    for check in checks:
        say(f"  [{check.verdict.value:<4}] {check.name:<{width}}  {check.detail}")
    failed = [c for c in checks if c.verdict is Verdict.FAIL]
    say(f"Result: {'FAIL' if failed else 'OK'} ({len(failed)} failed) / "
        f"Résultat : {'ÉCHEC' if failed else 'OK'} ({len(failed)} en échec)")
    return not failed
