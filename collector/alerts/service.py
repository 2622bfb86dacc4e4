"""The alerts service's loop, run by `ressenti collector alerts`: an evaluation pass, then a delivery run.

One service from press to e-mail (systemd: ressenti-collector-alerts.service): each
pass opens, updates and resolves alerts (evaluate.py), then hands the changes to
delivery (delivery.py: subscriptions, debounce, SMTP and webhooks) when delivery
settings are given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from collector.alerts.delivery import RunResult, run_delivery_once
from collector.alerts.delivery_settings import DeliverySettings
from collector.alerts.evaluate import PassResult, evaluate
from collector.db import connect

log = logging.getLogger(__name__)


class AlertService:
    """Evaluates (then delivers) every `every_s` seconds until stopped; a failing pass is logged, the next one runs."""

    def __init__(self, db_path: str | Path, every_s: float = 60.0,
                 on_pass: Callable[[PassResult], None] | None = None,
                 delivery: DeliverySettings | None = None) -> None:
        if every_s <= 0:
            raise ValueError("the evaluation period must be positive")
        self.db_path = db_path
        self.every_s = every_s
        self.on_pass = on_pass
        self.stop_event = threading.Event()
        self.last_pass_at: float | None = None
        self.delivery = delivery
        self.last_delivery: RunResult | None = None

    def run_once(self) -> PassResult:
        db = connect(self.db_path)
        try:
            result = evaluate(db)
            if self.delivery is not None:
                self._deliver(db, self.delivery)
        finally:
            db.close()
        self.last_pass_at = time.monotonic()
        if self.on_pass:
            self.on_pass(result)
        return result

    def _deliver(self, db, settings: DeliverySettings) -> None:  # type: ignore[no-untyped-def]
        """The pass's changes go out now; a failing run is logged and does not undo the pass (it committed)."""
        try:
            self.last_delivery = run_delivery_once(db, settings)
        except Exception:  # a locked database: the changes wait in alert_changes for the next pass
            log.exception("alert delivery run failed")
            return
        if self.last_delivery.sent or self.last_delivery.failed:
            log.info("alerts delivery: %d sent, %d failed", self.last_delivery.sent, self.last_delivery.failed)

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
