"""Clock honesty: is the wall clock trustworthy, and the monotonic stamp to correct it."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from pathlib import Path

from ressenti.protocol import Clock

_TIME_ERROR = 5  # adjtimex(2): clock not synchronized


def boot_id() -> str:
    """The kernel's id of this boot; equal boot ids mean the monotonic stamps compare."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown-boot"


def uptime_ms() -> int:
    """Milliseconds since boot, counting suspend (CLOCK_BOOTTIME)."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1_000_000


def _kernel_synchronized() -> bool | None:
    """Ask the kernel (adjtimex, read-only) whether NTP has disciplined the clock."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    libc = ctypes.CDLL(libc_name, use_errno=True)
    buf = ctypes.create_string_buffer(512)  # struct timex is ~208 bytes; modes=0 reads only
    state = libc.adjtimex(buf)
    if state < 0:
        return None
    return state != _TIME_ERROR


def _has_rtc() -> bool:
    """A battery RTC (DS3231) set the system clock at boot."""
    hctosys = Path("/sys/class/rtc/rtc0/hctosys")
    try:
        return hctosys.read_text().strip() == "1"
    except OSError:
        return False


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
        synced = _kernel_synchronized()
        state = Clock.NTP if synced else (Clock.RTC if _has_rtc() else Clock.UNSYNCED)
        self._cached = (now, state)
        return state
