"""Delivery settings from the environment (RESSENTI_SMTP_*, RESSENTI_BASE_URL, RESSENTI_ALERTS_*), checked at start-up.

`smtp_from_env` is the one RESSENTI_SMTP_* parser of the collector: the alerts'
`from_env` and the scheduled reports (`reports-send`) both start from it.

A missing or wrong setting is a `BadConfig` naming the variable and what to put in
it, raised before the first alert (issue 12). The SMTP password is read from a file
(RESSENTI_SMTP_PASSWORD_FILE, a systemd credential or a root-only file) or from
RESSENTI_SMTP_PASSWORD, never from the command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from email.errors import HeaderParseError
from email.headerregistry import Address
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ressenti.errors import BadConfig

LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class Security(StrEnum):
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS, usually port 465
    NONE = "none"


DEFAULT_PORTS = {Security.STARTTLS: 587, Security.TLS: 465, Security.NONE: 25}


@dataclass(frozen=True, kw_only=True)
class SmtpSettings:
    """What `mailer.SmtpTransport` needs: the organisation's SMTP server and the From address."""

    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_from: str
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_ca_file: str | None = None  # a private CA for the organisation's server; default: the system's
    timeout_s: float = 10.0


@dataclass(frozen=True, kw_only=True)
class DeliverySettings(SmtpSettings):
    base_url: str
    debounce_s: int = 300  # one message per rule and recipient per window, as the state's survey tool
    # A change waits this long for its companions (a raise and its resolve inside it: one message). 0 by
    # default: the evaluator's passes are a minute apart anyway, and the p99 target is 60 s (docs/alerts-delivery.md).
    hold_s: int = 0
    daily_cap: int = 20  # messages per recipient and local day, then one notice
    time_zone: str = "Europe/Paris"
    poll_s: float = 5.0

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def absolute(self, link: str | None) -> str:
        """A dashboard path made absolute from the base URL; anything but a path gives the alerts page."""
        path = link if link and link.startswith("/") and not link.startswith("//") else "/alerts"
        return self.base_url.rstrip("/") + path


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadConfig(f"{name}={raw!r} must be a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise BadConfig(f"{name}={value} must be from {low} to {high}")
    return value


def _required(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise BadConfig(f"{name} is not set: {what}")
    return value


def _password(env: Mapping[str, str]) -> str | None:
    path = env.get("RESSENTI_SMTP_PASSWORD_FILE", "").strip()
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise BadConfig(f"RESSENTI_SMTP_PASSWORD_FILE={path!r} cannot be read: {exc.strerror}") from None
    return env.get("RESSENTI_SMTP_PASSWORD") or None


def smtp_from_env(env: Mapping[str, str] | None = None) -> SmtpSettings:
    env = os.environ if env is None else env
    host = _required(env, "RESSENTI_SMTP_HOST", "the organisation's SMTP server, e.g. smtp.ville.fr")
    raw_security = env.get("RESSENTI_SMTP_SECURITY", "starttls").strip().lower()
    try:
        security = Security(raw_security)
    except ValueError:
        raise BadConfig(f"RESSENTI_SMTP_SECURITY={raw_security!r} must be starttls, tls or none") from None
    port = _int(env, "RESSENTI_SMTP_PORT", DEFAULT_PORTS[security], 1, 65535)
    sender = _required(env, "RESSENTI_SMTP_FROM", "the From address, e.g. alertes-ressenti@ville.fr")
    try:
        if "." not in Address(addr_spec=sender).domain:
            raise ValueError
    except (HeaderParseError, ValueError, IndexError):
        raise BadConfig(f"RESSENTI_SMTP_FROM={sender!r} is not an e-mail address") from None
    user = env.get("RESSENTI_SMTP_USER", "").strip() or None
    password = _password(env)
    if user and security is Security.NONE and host not in LOCAL_HOSTS:
        raise BadConfig(f"RESSENTI_SMTP_SECURITY=none would send the password to {host} in clear: use starttls or tls")
    if user and not password:
        raise BadConfig("RESSENTI_SMTP_USER is set but no password: set RESSENTI_SMTP_PASSWORD_FILE")
    if password and not user:
        raise BadConfig("an SMTP password is set but no RESSENTI_SMTP_USER")
    ca_file = env.get("RESSENTI_SMTP_CA_FILE", "").strip() or None
    if ca_file and not Path(ca_file).is_file():
        raise BadConfig(f"RESSENTI_SMTP_CA_FILE={ca_file!r} is not a file")
    return SmtpSettings(smtp_host=host, smtp_port=port, smtp_security=security, smtp_from=sender,
                        smtp_user=user, smtp_password=password, smtp_ca_file=ca_file,
                        timeout_s=_int(env, "RESSENTI_SMTP_TIMEOUT_S", 10, 1, 300))


def from_env(env: Mapping[str, str] | None = None) -> DeliverySettings:
    env = os.environ if env is None else env
    smtp = smtp_from_env(env)
    base_url = _required(env, "RESSENTI_BASE_URL", "the dashboard's public address, e.g. https://ressenti.ville.fr")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise BadConfig(f"RESSENTI_BASE_URL={base_url!r} must be an http(s) address like https://ressenti.ville.fr")
    zone = env.get("RESSENTI_TIME_ZONE", "Europe/Paris").strip() or "Europe/Paris"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadConfig(f"RESSENTI_TIME_ZONE={zone!r} is not a time zone such as Europe/Paris") from None
    return DeliverySettings(
        **{f.name: getattr(smtp, f.name) for f in fields(SmtpSettings)}, base_url=base_url,
        debounce_s=_int(env, "RESSENTI_ALERTS_DEBOUNCE_S", 300, 0, 86400),
        hold_s=_int(env, "RESSENTI_ALERTS_HOLD_S", 0, 0, 3600),
        daily_cap=_int(env, "RESSENTI_ALERTS_DAILY_CAP", 20, 1, 10000), time_zone=zone)
