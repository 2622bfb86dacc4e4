"""How many live streams may be open at once: per wall token, per logged-in user, per client address, per process.

An open stream holds one gunicorn thread for hours (issue 17): without these
limits, 200 streams opened with one wall link leave no thread for `/login`.
Each limit counts the streams of this web process (gunicorn worker); a
refused stream is answered 429 with a Retry-After the wall page waits out.
See docs/dashboard.md, "Live streams and their limits".
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)

# A few screens may show one link (a waiting room, a corridor); more is a leak or an attack.
DEFAULT_PER_TOKEN = 4
DEFAULT_PER_USER = 4
# Several screens behind one NAT (a building's router) each with their own link.
DEFAULT_PER_ADDRESS = 16
# Threads of a web process that streams never take: pages, the API and /login answer even with every
# wall open. With gunicorn's `threads = 32`, 24 streams per process.
DEFAULT_PAGE_THREADS = 8
DEFAULT_THREADS = 32
DEFAULT_RETRY_AFTER_S = 30


class Scope(StrEnum):
    PROCESS = "process"
    TOKEN = "token"
    USER = "user"
    ADDRESS = "address"


@dataclass(frozen=True)
class StreamLimits:
    per_token: int = DEFAULT_PER_TOKEN
    per_user: int = DEFAULT_PER_USER
    per_address: int = DEFAULT_PER_ADDRESS
    per_process: int = DEFAULT_THREADS - DEFAULT_PAGE_THREADS
    retry_after_s: int = DEFAULT_RETRY_AFTER_S

    def of(self, scope: Scope) -> int:
        return {Scope.PROCESS: self.per_process, Scope.TOKEN: self.per_token, Scope.USER: self.per_user,
                Scope.ADDRESS: self.per_address}[scope]

    @classmethod
    def from_config(cls, config: dict[str, Any], threads: int | None = None) -> StreamLimits:
        """From STREAMS_PER_TOKEN, STREAMS_PER_USER, STREAMS_PER_ADDRESS, STREAMS_PER_PROCESS,
        STREAM_PAGE_THREADS and STREAM_RETRY_AFTER_S; the process cap defaults to the web process's
        threads (gunicorn's, when gunicorn says; else 32) minus the threads kept for pages."""
        def number(key: str, default: int, minimum: int) -> int:
            value = config.get(key, default)
            if value is None:
                return default
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = None
            if value is None or value < minimum:
                from ressenti.errors import BadConfig
                raise BadConfig(f"{key} must be a whole number of at least {minimum}, not {config.get(key)!r}")
            return value

        page_threads = number("STREAM_PAGE_THREADS", DEFAULT_PAGE_THREADS, 1)
        derived = max(1, (threads or DEFAULT_THREADS) - page_threads)
        return cls(per_token=number("STREAMS_PER_TOKEN", DEFAULT_PER_TOKEN, 1),
                   per_user=number("STREAMS_PER_USER", DEFAULT_PER_USER, 1),
                   per_address=number("STREAMS_PER_ADDRESS", DEFAULT_PER_ADDRESS, 1),
                   per_process=number("STREAMS_PER_PROCESS", derived, 1),
                   retry_after_s=number("STREAM_RETRY_AFTER_S", DEFAULT_RETRY_AFTER_S, 1))


Key = tuple[Scope, str]


def token_key(token_id: int) -> Key:
    return (Scope.TOKEN, str(token_id))


def user_key(user_id: int) -> Key:
    return (Scope.USER, str(user_id))


def address_key(address: str | None) -> Key:
    return (Scope.ADDRESS, address or "?")


class Ticket:
    """One admitted stream; `release` (idempotent) gives its places back."""

    def __init__(self, gate: StreamGate, keys: list[Key]) -> None:
        self._gate, self._keys = gate, keys
        self._released = False

    def release(self) -> None:
        with self._gate._lock:
            if self._released:
                return
            self._released = True
            self._gate._open.subtract(self._keys)
            self._gate._open += Counter()  # drop the keys that reached zero


class StreamGate:
    """Counts open streams by key and admits a new one only if every key is under its limit."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._open: Counter[Key] = Counter()

    def _full(self, keys: list[Key]) -> Key | None:
        return next((key for key in keys if self._open[key] >= self.limits.of(key[0])), None)

    def refusal(self, keys: list[Key]) -> Scope | None:
        """Which limit a new stream with these keys would hit now (None: it would be admitted)."""
        with self._lock:
            full = self._full([(Scope.PROCESS, ""), *keys])
        return full[0] if full else None

    def admit(self, keys: list[Key]) -> Ticket | Scope:
        """A ticket for a new stream, or the limit it hits (logged, without the key's secret part)."""
        keys = [(Scope.PROCESS, ""), *keys]
        with self._lock:
            full = self._full(keys)
            if full is None:
                self._open.update(keys)
                return Ticket(self, keys)
        log.warning("live stream refused: %s limit (%d) reached for %s", full[0], self.limits.of(full[0]),
                    _shown(full))
        return full[0]

    def open_count(self, key: Key | None = None) -> int:
        with self._lock:
            return self._open[key or (Scope.PROCESS, "")]


def _shown(key: Key) -> str:
    """How a key appears in logs: an address is hashed (no personal data by default)."""
    if key[0] == Scope.ADDRESS:
        return "address " + hashlib.sha256(key[1].encode()).hexdigest()[:8]
    return f"{key[0]} {key[1]}" if key[1] else "this process"
