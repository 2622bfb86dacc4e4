"""The kiosk's config file (/etc/ressenti/kiosk.toml), validated with messages that name the fix.

Every message says which file, which key, what is wrong and what a right
value looks like; an unknown key is an error (a typo must not silently fall
back to a default). deploy/examples/kiosk.toml is the commented example.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.touch.options import Fullscreen, TouchOptions
from ressenti.errors import BadConfig
from ressenti.mqtt import BrokerAddress, parse_broker_url, read_secret
from ressenti.protocol import Clock, KioskSettings, decode_settings, is_slug

FRONTENDS = ("buttons", "touch")

# key -> an example of a right value, as it is written in the file.
EXAMPLES = {
    "kiosk": '"mairie-accueil-1"', "site": '"mairie"', "data_dir": '"/var/lib/ressenti"',
    "frontends": '["buttons"]', "clock": '"auto"', "buzzer": "false", "mock_pins": "false",
    "heartbeat_s": "60", "ack_timeout_s": "10", "max_events": "1000000", "max_age_days": "90",
}
BROKER_EXAMPLES = {
    "url": '"mqtts://collector.example.fr:8883"', "username": '"mairie-accueil-1"',
    "password_file": '"/etc/ressenti/broker-password"', "ca_file": '"/etc/ressenti/ca.crt"',
    "cert_file": '"/etc/ressenti/kiosk.crt"', "key_file": '"/etc/ressenti/kiosk.key"',
}
SETTINGS_KEYS = ("v", "rev", "scale", "question_id", "question", "followup", "response_interval_s",
                 "burst_per_minute", "languages", "quiet_hours", "wording")
TOUCH_EXAMPLES = {
    "pin_file": '"/etc/ressenti/touch-pin"', "sound": "false", "fullscreen": '"auto"',
    "idle_after_s": "60", "thanks_s": "3",
}
TOUCH_RANGES = (("idle_after_s", 10, 3600), ("thanks_s", 1, 30))
TABLES = ("broker", "settings", "touch")

_KIND_NAMES = {str: "a string in quotes", int: "a whole number", bool: "true or false",
               list: "a list", dict: "a table"}

# (key, lowest, highest) for the numbers.
RANGES = (("heartbeat_s", 5, 3600), ("ack_timeout_s", 1, 600), ("max_events", 1, 100_000_000),
          ("max_age_days", 1, 3650))


@dataclass(frozen=True)
class KioskConfig:
    kiosk: str
    site: str
    broker: BrokerAddress
    data_dir: Path
    frontends: tuple[str, ...] = ("buttons",)
    settings: KioskSettings = field(default_factory=KioskSettings)
    touch: TouchOptions = field(default_factory=TouchOptions)
    clock: Clock | None = None  # None: read the system's sync state
    heartbeat_s: float = 60.0
    ack_timeout_s: float = 10.0
    max_events: int = 1_000_000
    max_age_days: float = 90
    buzzer: bool = False
    mock_pins: bool = False  # gpiozero MockFactory: a laptop, the demo, tests

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.db"


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return "a number" if isinstance(kind, tuple) else _KIND_NAMES.get(kind, kind.__name__)


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         default: Any = ..., examples: dict[str, str] = EXAMPLES) -> Any:
    example = f"{key} = {examples[key]}" if key in examples else None
    if key not in table:
        if default is ...:
            raise BadConfig(f"{where}: missing key {key!r}; add e.g. {example}")
        return default
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        fix = f" (e.g. {example})" if example else ""
        raise BadConfig(f"{where}: {key} = {value!r} must be {_kind_name(kind)}{fix}")
    return value


def _check_known(table: dict[str, Any], known: tuple[str, ...] | list[str], where: str) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            raise BadConfig(f"{where}: unknown key {key!r} ({hint})")


def _existing_file(table: dict[str, Any], key: str, where: str, what: str) -> str | None:
    value = _get(table, key, str, where, None, BROKER_EXAMPLES)
    if value is not None and not Path(value).is_file():
        raise BadConfig(f"{where}: {key} = {value!r}: no such file; put {what} there")
    return value


def _parse_broker(table: dict[str, Any], where: str) -> BrokerAddress:
    _check_known(table, list(BROKER_EXAMPLES), where)
    url = _get(table, "url", str, where, "mqtt://localhost:1883", BROKER_EXAMPLES)
    try:
        probe = parse_broker_url(url)
    except BadConfig as exc:
        raise BadConfig(f"{where}: url: {exc}") from None
    username = _get(table, "username", str, where, None, BROKER_EXAMPLES)
    password_file = _existing_file(table, "password_file", where,
                                   "the broker password (one line, mode 0600)")
    if password_file and not (username or probe.username):
        raise BadConfig(f"{where}: password_file is set but username is not; "
                        f"add username = {BROKER_EXAMPLES['username']}")
    tls_files = {key: _existing_file(table, key, where, what) for key, what in (
        ("ca_file", "the CA certificate that signed the broker's certificate"),
        ("cert_file", "this kiosk's client certificate (PEM)"),
        ("key_file", "this kiosk's private key (PEM)"),
    )}
    used = [key for key, value in tls_files.items() if value]
    if used and not probe.tls:
        raise BadConfig(f"{where}: {', '.join(used)} set but url {url!r} is not TLS; "
                        "use mqtts://host:8883")
    password = read_secret(password_file)
    return parse_broker_url(url, username=username, password=password, **tls_files)


def _parse_settings(table: dict[str, Any], where: str) -> KioskSettings:
    _check_known(table, SETTINGS_KEYS, where)
    try:
        return decode_settings(table)
    except BadConfig as exc:
        raise BadConfig(f"{where}: {exc}") from None


def _parse_touch(table: dict[str, Any], where: str) -> TouchOptions:
    _check_known(table, list(TOUCH_EXAMPLES), where)
    pin_file = Path(_get(table, "pin_file", str, where, str(TouchOptions.pin_file), TOUCH_EXAMPLES))
    if not pin_file.is_absolute():
        raise BadConfig(f"{where}: pin_file = {str(pin_file)!r} must be an absolute path "
                        f"(e.g. pin_file = {TOUCH_EXAMPLES['pin_file']})")
    fullscreen = table.get("fullscreen", "auto")
    if fullscreen != "auto" and not isinstance(fullscreen, bool):
        raise BadConfig(f"{where}: fullscreen = {fullscreen!r} must be \"auto\" (full screen on "
                        "a console, a window under a desktop), true or false")
    numbers = {key: _get(table, key, (int, float), where, float(TOUCH_EXAMPLES[key]),
                         TOUCH_EXAMPLES) for key, _, _ in TOUCH_RANGES}
    for key, low, high in TOUCH_RANGES:
        if not low <= numbers[key] <= high:
            raise BadConfig(f"{where}: {key} = {numbers[key]!r} must be between {low} and {high} "
                            f"seconds (e.g. {key} = {TOUCH_EXAMPLES[key]})")
    return TouchOptions(
        pin_file=pin_file, sound=_get(table, "sound", bool, where, False, TOUCH_EXAMPLES),
        fullscreen=Fullscreen(str(fullscreen).lower()),
        idle_after_s=float(numbers["idle_after_s"]), thanks_s=float(numbers["thanks_s"]))


def parse_config(data: dict[str, Any], where: str = "kiosk config") -> KioskConfig:
    _check_known(data, [*EXAMPLES, *TABLES], where)
    kiosk = _get(data, "kiosk", str, where)
    site = _get(data, "site", str, where)
    for key, value in (("kiosk", kiosk), ("site", site)):
        if not is_slug(value):
            raise BadConfig(f"{where}: {key} = {value!r} must be lower-case letters, digits and '-'"
                            f" (e.g. {key} = {EXAMPLES[key]})")
    broker = _parse_broker(_get(data, "broker", dict, where, {}), f"{where} [broker]")
    frontends = tuple(_get(data, "frontends", list, where, ["buttons"]))
    unknown = set(frontends) - set(FRONTENDS)
    if unknown or not frontends:
        raise BadConfig(f"{where}: frontends = {list(frontends)} must be a non-empty subset of "
                        f"{list(FRONTENDS)} (e.g. frontends = {EXAMPLES['frontends']})")
    clock_name = _get(data, "clock", str, where, "auto")
    if clock_name != "auto" and clock_name not in set(Clock):
        raise BadConfig(f"{where}: clock = {clock_name!r} must be \"auto\" (read the system's "
                        "NTP state), \"ntp\", \"rtc\" or \"unsynced\"")
    data_dir = Path(_get(data, "data_dir", str, where, "/var/lib/ressenti"))
    if not data_dir.is_absolute():
        raise BadConfig(f"{where}: data_dir = {str(data_dir)!r} must be an absolute path "
                        f"(e.g. data_dir = {EXAMPLES['data_dir']})")
    numbers = {key: _get(data, key, int if key == "max_events" else (int, float), where,
                         int(EXAMPLES[key])) for key, _, _ in RANGES}
    for key, low, high in RANGES:
        if not low <= numbers[key] <= high:
            raise BadConfig(f"{where}: {key} = {numbers[key]!r} must be between {low} and {high} "
                            f"(e.g. {key} = {EXAMPLES[key]})")
    return KioskConfig(
        kiosk=kiosk, site=site, broker=broker, data_dir=data_dir, frontends=frontends,
        settings=_parse_settings(_get(data, "settings", dict, where, {}), f"{where} [settings]"),
        touch=_parse_touch(_get(data, "touch", dict, where, {}), f"{where} [touch]"),
        clock=None if clock_name == "auto" else Clock(clock_name),
        heartbeat_s=float(numbers["heartbeat_s"]), ack_timeout_s=float(numbers["ack_timeout_s"]),
        max_events=numbers["max_events"], max_age_days=float(numbers["max_age_days"]),
        buzzer=_get(data, "buzzer", bool, where, False),
        mock_pins=_get(data, "mock_pins", bool, where, False),
    )


def load_config(path: str | Path) -> KioskConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BadConfig(f"{path}: no such file; copy deploy/examples/kiosk.toml there") from None
    except OSError as exc:
        raise BadConfig(f"{path}: cannot read it ({exc.strerror}); check its owner and mode") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadConfig(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
