"""The alert evaluator's loop, run by `ressenti collector alerts` (systemd: ressenti-collector-alerts.service)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from collector.alerts.evaluate import PassResult, evaluate
from collector.db import connect

log = logging.getLogger(__name__)


class AlertService:
    """Evaluates every `every_s` seconds until stopped; a failing pass is logged and the next one runs."""

    def __init__(self, db_path: str | Path, every_s: float = 60.0,
                 on_pass: Callable[[PassResult], None] | None = None) -> None:
        if every_s <= 0:
            raise ValueError("the evaluation period must be positive")
        self.db_path = db_path
        self.every_s = every_s
        self.on_pass = on_pass
        self.stop_event = threading.Event()
        self.last_pass_at: float | None = None

    def run_once(self) -> PassResult:
        db = connect(self.db_path)
        try:
            result = evaluate(db)
        finally:
            db.close()
        self.last_pass_at = time.monotonic()
        if self.on_pass:
            self.on_pass(result)
        return result

    def run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                self.run_once()
            except Exception:  # a bug or a locked database must not end the service: the next pass retries
                log.exception("alert evaluation pass failed")
            self.stop_event.wait(max(0.0, self.every_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stop_event.set()
