"""Commits taps off the UI thread, in order, and hands each outcome back to the UI thread.

`Kiosk.press` returns only after the outbox commit (an fsync, ~5 ms, longer
on a tired SD card), and the UI thread must never wait on disk. So presses run
on one worker thread (one, so they keep their order) and the outcome comes back
through `post`, which the Kivy front-end sets to `Clock.schedule_once`. The
thank-you screen is shown from that callback: after the commit, never before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from kiosk.core import Kiosk
from kiosk.outbox import OutboxError
from ressenti.protocol import Input

log = logging.getLogger(__name__)

T = TypeVar("T")
Post = Callable[[Callable[[], None]], None]


class Outcome(StrEnum):
    SAVED = "saved"  # committed: say thank you
    FAILED = "failed"  # not committed (disk full, I/O error): say so, never "merci"


@dataclass(frozen=True)
class Tap:
    """A rating as the citizen gave it, with the question they were shown and when."""

    rating: int
    scale: int
    question_id: str
    lang: str
    source: Input = Input.TOUCH
    followup: dict[str, str] | None = None
    pressed_at: float | None = None  # Kiosk.monotonic() at the tap; None: at the commit


@dataclass(frozen=True)
class Result:
    tap: Tap
    outcome: Outcome
    event: dict[str, Any] | None = None
    error: str | None = None


class Presser:
    def __init__(self, kiosk: Kiosk, post: Post) -> None:
        self.kiosk = kiosk
        self.post = post
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="touch-commit")

    def submit(self, tap: Tap, done: Callable[[Result], None]) -> Future[Result]:
        """Commit `tap` on the worker; call `done(result)` on the UI thread."""
        future = self._pool.submit(self._commit, tap)
        future.add_done_callback(lambda f: self.post(lambda: done(f.result())))
        return future

    def run(self, work: Callable[[], T], done: Callable[[T], None]) -> None:
        """Any other disk work (the technician screen's figures) off the UI thread, in turn."""
        def call_done(future: Future[T]) -> None:
            try:
                value = future.result()
            except Exception:
                log.exception("background work for the touch screen failed")
                return
            self.post(lambda: done(value))
        self._pool.submit(work).add_done_callback(call_done)

    def _commit(self, tap: Tap) -> Result:
        # Recorded under the question and scale the citizen was shown, at the
        # moment of the tap, even if a pushed config changed them since:
        # "2 of 5" stays "2 of 5" (issue 4).
        try:
            event = self.kiosk.press(tap.rating, tap.source, followup=tap.followup, lang=tap.lang,
                                     pressed_at=tap.pressed_at, scale=tap.scale,
                                     question_id=tap.question_id)
        except OutboxError as exc:
            log.error("press not recorded: %s", exc)
            return Result(tap, Outcome.FAILED, error=str(exc))
        except Exception as exc:  # whatever it is, the citizen must not see "merci"
            log.exception("press not recorded")
            return Result(tap, Outcome.FAILED, error=repr(exc))
        return Result(tap, Outcome.SAVED, event=event)

    def close(self) -> None:
        """Finish the commits already started (before the outbox closes), then stop."""
        self._pool.shutdown(wait=True, cancel_futures=False)
