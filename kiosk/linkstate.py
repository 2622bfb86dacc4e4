"""A small JSON file beside the outbox saying how the running kiosk's link is doing.

The link updates it on connect, disconnect and ack; it is written atomically
(temporary file, then rename) at most once a second, so a burst of acks costs
one write. `ressenti kiosk status`, a separate process, reads it and shows its
age: a file not written for long means the kiosk is not running.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "link-state.json"


class LinkStateFile:
    def __init__(self, path: str | Path, *, min_interval_s: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.min_interval_s = min_interval_s
        self._clock = clock
        self._state: dict[str, Any] = {"pid": os.getpid()}
        self._dirty = False
        self._written_at = float("-inf")
        self._lock = threading.Lock()

    def update(self, **fields: Any) -> None:
        """Change some fields; written by the next `flush` that is due."""
        with self._lock:
            self._state.update(fields)
            self._dirty = True

    def flush(self, *, force: bool = False) -> bool:
        """Write if something changed and the last write is at least min_interval_s old."""
        with self._lock:
            now = self._clock()
            if not self._dirty or (not force and now - self._written_at < self.min_interval_s):
                return False
            body = json.dumps({**self._state, "written_at": now}, sort_keys=True)
            self._dirty = False
            self._written_at = now
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            tmp.write_text(body)
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk must not stop the link; status is a convenience
            log.warning("could not write %s: %s", self.path, exc)
            return False
        return True


def read_link_state(path: str | Path, *, now: float | None = None) -> dict[str, Any] | None:
    """The state the kiosk last wrote, with ages in seconds; None if there is no file."""
    try:
        state = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return {"error": f"unreadable {path}: {exc}"}
    now = time.time() if now is None else now
    for key in ("written_at", "since", "last_ack_at"):
        if isinstance(state.get(key), int | float):
            state[f"{key.removesuffix('_at')}_age_s"] = round(now - state[key], 1)
    return state
