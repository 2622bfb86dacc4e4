"""Clock honesty: which state each probe result gives, and no exception on a machine without them."""

from __future__ import annotations

import ctypes.util
import time
from pathlib import Path

import pytest

from kiosk import clock
from kiosk.clock import ClockState, boot_id, read_clock_state, uptime_ms
from ressenti.protocol import Clock


@pytest.mark.parametrize("kernel_synced, rtc, expected", [
    (True, False, Clock.NTP),
    (True, True, Clock.NTP),         # NTP wins over the RTC it corrects
    (False, True, Clock.RTC),
    (False, False, Clock.UNSYNCED),
    (None, True, Clock.RTC),         # the kernel could not be asked
    (None, False, Clock.UNSYNCED),
])
def test_clock_state_from_the_two_probes(monkeypatch, kernel_synced, rtc, expected):
    monkeypatch.setattr(clock, "_kernel_synchronized", lambda: kernel_synced)
    monkeypatch.setattr(clock, "_has_rtc", lambda: rtc)
    assert read_clock_state() is expected
    assert ClockState(ttl=0).current() is expected


def test_a_probe_that_raises_means_unsynced_never_an_exception(monkeypatch, caplog):
    def broken() -> bool:
        raise RuntimeError("no adjtimex here")
    monkeypatch.setattr(clock, "_kernel_synchronized", broken)
    assert read_clock_state() is Clock.UNSYNCED
    assert "clock probe failed" in caplog.text


def test_no_libc_or_no_adjtimex_means_unknown(monkeypatch):
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert clock._kernel_synchronized() is None
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libdoesnotexist.so.42")
    assert clock._kernel_synchronized() is None


def test_real_probes_answer_on_this_machine():
    assert clock._kernel_synchronized() in (True, False, None)
    assert clock._has_rtc() in (True, False)
    assert read_clock_state() in set(Clock)


NOW = 1_795_000_000.0  # 2026-11


@pytest.mark.parametrize("files, now, expected", [
    ({}, NOW, False),  # no RTC at all
    ({"hctosys": "1\n"}, NOW, True),  # the kernel set the clock from it at boot
    ({"hctosys": "0\n", "since_epoch": f"{int(NOW)}\n"}, NOW, True),  # hwclock set it (Pi OS + DS3231)
    ({"hctosys": "0\n", "since_epoch": f"{int(NOW) - 3600}\n"}, NOW, False),  # RTC and system disagree
    ({"hctosys": "0\n", "since_epoch": "garbage"}, NOW, False),
    ({"hctosys": "1\n", "since_epoch": "946684800"}, 946684800.0, False),  # dead battery: year 2000
])
def test_rtc_probe(tmp_path, files, now, expected):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert clock._has_rtc(tmp_path, now) is expected


def test_forced_state_and_cache(monkeypatch):
    calls = []
    monkeypatch.setattr(clock, "read_clock_state", lambda: calls.append(1) or Clock.RTC)
    assert ClockState(forced=Clock.NTP).current() is Clock.NTP
    state = ClockState(ttl=60)
    assert state.current() is Clock.RTC and state.current() is Clock.RTC
    assert len(calls) == 1, "read at most once per ttl"


def test_boot_id_and_uptime_without_linux_files(monkeypatch):
    missing = Path("/nonexistent/boot_id")
    monkeypatch.setattr(clock, "Path", lambda _p: missing)
    assert boot_id() == "unknown-boot"
    monkeypatch.delattr(time, "CLOCK_BOOTTIME", raising=False)
    assert uptime_ms() >= 0
