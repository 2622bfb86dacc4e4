"""What a kiosk reports about itself in its status heartbeat."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.clock import uptime_ms
from kiosk.outbox import Outbox
from ressenti import __version__
from ressenti.protocol import format_ts, utc_now


def cpu_temperature_c() -> float | None:
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000, 1)
    except (OSError, ValueError):
        return None


def disk_free_mb(path: Path) -> int | None:
    try:
        return shutil.disk_usage(path).free // (1024 * 1024)
    except OSError:
        return None


def health_report(outbox: Outbox, *, clock: str, config_rev: int, state: str = "online") -> dict[str, Any]:
    queue = outbox.state()
    oldest = (format_ts(datetime.fromtimestamp(queue.oldest_created, UTC))
              if queue.oldest_created else None)
    return {
        "state": state,
        "ts": format_ts(utc_now()),
        "version": __version__,
        "config_rev": config_rev,
        "clock": clock,
        "uptime_s": uptime_ms() // 1000,
        "queue": {"pending": queue.pending, "oldest_ts": oldest, "dropped": queue.dropped},
        "temp_c": cpu_temperature_c(),
        "disk_free_mb": disk_free_mb(outbox.path.parent),
        "at_monotonic": round(time.monotonic(), 3),
    }
