"""Clock honesty: is the wall clock trustworthy, and the monotonic stamp to correct it."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time
from pathlib import Path

from ressenti.protocol import Clock

log = logging.getLogger(__name__)

_TIME_ERROR = 5  # adjtimex(2): clock not synchronized


def boot_id() -> str:
    """The kernel's id of this boot; equal boot ids mean the monotonic stamps compare."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def uptime_ms() -> int:
    """Milliseconds since boot, counting suspend (CLOCK_BOOTTIME; monotonic off Linux)."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None:
        return time.monotonic_ns() // 1_000_000
    return time.clock_gettime_ns(clock) // 1_000_000


def _kernel_synchronized() -> bool | None:
    """Ask the kernel (adjtimex, read-only) whether NTP has disciplined the clock.

    This is what `timedatectl show -p NTPSynchronized` reports, without a
    subprocess or D-Bus. None when it cannot be asked (no libc, not Linux).
    """
    try:
        libc_name = ctypes.util.find_library("c")
        if not libc_name:
            return None
        libc = ctypes.CDLL(libc_name, use_errno=True)
        buf = ctypes.create_string_buffer(512)  # struct timex is ~208 bytes; modes=0 reads only
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):  # no such library or function on this system
        return None
    if state < 0:
        return None
    return state != _TIME_ERROR


RTC_DIR = Path("/sys/class/rtc/rtc0")
_RTC_AGREEMENT_S = 2.0
_EARLIEST_PLAUSIBLE = 1_704_067_200  # 2024-01-01: a dead RTC battery reads 2000-01-01


def _has_rtc(rtc_dir: Path | None = None, now: float | None = None) -> bool:
    """A battery RTC (DS3231) holds a plausible time that the system clock agrees with.

    The kernel's `hctosys` is 1 only if it set the clock from this RTC at boot.
    On Raspberry Pi OS a DS3231's driver loads too late for that and `hwclock`
    sets the clock from it instead (hardware/notes.md), leaving `hctosys` at 0;
    so an RTC whose `since_epoch` agrees with the system clock counts too.
    """
    rtc_dir = rtc_dir or RTC_DIR
    now = time.time() if now is None else now
    if now < _EARLIEST_PLAUSIBLE:
        return False
    try:
        if (rtc_dir / "hctosys").read_text().strip() == "1":
            return True
        since_epoch = int((rtc_dir / "since_epoch").read_text().strip())
    except (OSError, ValueError):
        return False
    return abs(since_epoch - now) <= _RTC_AGREEMENT_S


class ClockState:
    """Reads the clock state at most every `ttl` seconds; `forced` pins it (config or tests)."""

    def __init__(self, forced: Clock | None = None, ttl: float = 10.0) -> None:
        self.forced = forced
        self.ttl = ttl
        self._cached: tuple[float, Clock] | None = None

    def current(self) -> Clock:
        if self.forced is not None:
            return self.forced
        now = time.monotonic()
        if self._cached and now - self._cached[0] < self.ttl:
            return self._cached[1]
        state = read_clock_state()
        self._cached = (now, state)
        return state


def read_clock_state() -> Clock:
    """ntp if the kernel says synchronised, else rtc if a battery RTC set the clock, else unsynced.

    Never raises: a probe that fails counts as "not known to be good".
    """
    try:
        if _kernel_synchronized():
            return Clock.NTP
        if _has_rtc():
            return Clock.RTC
    except Exception:  # noqa: BLE001 -- a press must never fail on a clock probe
        log.exception("clock probe failed; reporting unsynced")
    return Clock.UNSYNCED
