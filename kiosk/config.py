"""The kiosk's config file (/etc/ressenti/kiosk.toml), validated with messages that name the fix."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ressenti.errors import BadConfig
from ressenti.mqtt import BrokerAddress, parse_broker_url, read_secret
from ressenti.protocol import Clock, KioskSettings, decode_settings, is_slug

FRONTENDS = ("buttons", "touch")


@dataclass(frozen=True)
class KioskConfig:
    kiosk: str
    site: str
    broker: BrokerAddress
    data_dir: Path
    frontends: tuple[str, ...] = ("buttons",)
    settings: KioskSettings = field(default_factory=KioskSettings)
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


def _get(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise BadConfig(f"{where}: missing key {key!r}")
        return default
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise BadConfig(f"{where}: {key} = {value!r} has the wrong type")
    return value


def parse_config(data: dict[str, Any], where: str = "kiosk config") -> KioskConfig:
    kiosk = _get(data, "kiosk", str, where)
    site = _get(data, "site", str, where)
    for key, value in (("kiosk", kiosk), ("site", site)):
        if not is_slug(value):
            raise BadConfig(f"{where}: {key} = {value!r} must be lower-case letters, digits and '-'"
                            " (e.g. \"mairie-accueil-1\")")
    broker_table = _get(data, "broker", dict, where, {})
    url = _get(broker_table, "url", str, f"{where} [broker]", "mqtt://localhost:1883")
    broker = parse_broker_url(
        url,
        username=_get(broker_table, "username", str, f"{where} [broker]", None),
        password=read_secret(_get(broker_table, "password_file", str, f"{where} [broker]", None)),
        ca_file=_get(broker_table, "ca_file", str, f"{where} [broker]", None),
        cert_file=_get(broker_table, "cert_file", str, f"{where} [broker]", None),
        key_file=_get(broker_table, "key_file", str, f"{where} [broker]", None),
    )
    frontends = tuple(_get(data, "frontends", list, where, ["buttons"]))
    unknown = set(frontends) - set(FRONTENDS)
    if unknown or not frontends:
        raise BadConfig(f"{where}: frontends = {list(frontends)} must be a non-empty subset of {list(FRONTENDS)}")
    clock_name = _get(data, "clock", str, where, "auto")
    if clock_name != "auto" and clock_name not in set(Clock):
        raise BadConfig(f"{where}: clock = {clock_name!r} must be auto, ntp, rtc or unsynced")
    try:
        settings = decode_settings(_get(data, "settings", dict, where, {}))
    except BadConfig as exc:
        raise BadConfig(f"{where} [settings]: {exc}") from None
    return KioskConfig(
        kiosk=kiosk, site=site, broker=broker,
        data_dir=Path(_get(data, "data_dir", str, where, "/var/lib/ressenti")),
        frontends=frontends, settings=settings,
        clock=None if clock_name == "auto" else Clock(clock_name),
        heartbeat_s=float(_get(data, "heartbeat_s", (int, float), where, 60)),
        ack_timeout_s=float(_get(data, "ack_timeout_s", (int, float), where, 10)),
        max_events=_get(data, "max_events", int, where, 1_000_000),
        max_age_days=float(_get(data, "max_age_days", (int, float), where, 90)),
        buzzer=_get(data, "buzzer", bool, where, False),
        mock_pins=_get(data, "mock_pins", bool, where, False),
    )


def load_config(path: str | Path) -> KioskConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BadConfig(f"{path}: no such file; copy deploy/examples/kiosk.toml there") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadConfig(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
