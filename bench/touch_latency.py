"""Touch front-end: tap -> thank-you frame latency, and the kiosk process's memory.

    xvfb-run -a -s "-screen 0 800x480x24" .venv/bin/python bench/touch_latency.py [--taps 300]

Runs the real Kivy main loop (App.run) with the real controller, Kiosk and
outbox (SQLite, WAL, synchronous=FULL, on the disk under --dir). A driver on
Kivy's Clock taps a face (a finger down, 60-120 ms, up, at random phases
of the frame clock); the latency is from the finger lifting (the button fires
on release) to the return of the buffer swap
of the first frame that shows the thank-you screen, so it includes the commit
on the worker thread, the hand-back through Clock, the layout and the drawing;
"switched" stops when the UI thread switches screens, before drawing.
Baselines in the same run: the bare outbox commit and Kiosk.press. The link is
not running (no broker): it works on its own thread and never touches the UI's.

Memory (target: RSS <= 150 MB, issue 4): the peak is VmHWM; at each stage the
RSS is split from /proc/self/smaps (bench/procmem.py) into the GL driver's
libraries (under Xvfb, Mesa's llvmpipe and LLVM), Python and its extension
modules, other files, and anonymous memory, with glibc malloc's own count. The
process imports what `ressenti kiosk run` has imported (CLI, config, link and
paho-mqtt) and nothing it does not: no pytest (kivy.tests would bring it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import percentile, table
from procmem import Breakdown, breakdown, malloc_arenas, malloc_kb

import cli  # noqa: F401

# What `ressenti kiosk run` has imported when it starts Kivy (the CLI, the
# config, the link and paho-mqtt), so that their memory is counted too.
import kiosk.startup  # noqa: F401
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.outbox import Outbox
from kiosk.touch import env
from ressenti.protocol import Clock, Input, KioskSettings


@dataclass
class Stage:
    """The process's memory at one point of the run."""

    name: str
    memory: Breakdown
    malloc: tuple[int, int] | None  # kB in use, kB free but kept
    arenas: int | None
    modules: int
    threads: int


def stage(name: str) -> Stage:
    return Stage(name, breakdown(), malloc_kb(), malloc_arenas(), len(sys.modules),
                 status_kb("Threads"))


def memory_table(stages: list[Stage]) -> str:
    def mb(kb: int) -> str:
        return f"{kb / 1024:.1f}"

    rows = []
    for st in stages:
        m = st.memory
        in_use, kept = st.malloc or (0, 0)
        rows.append((st.name, mb(m.rss_kb), mb(m.gl_driver_kb), mb(m.python_kb),
                     mb(m.other_files_kb), mb(m.anon_kb), mb(m.brk_heap_kb),
                     f"{mb(in_use)} / {mb(kept)}", str(st.arenas), str(st.threads),
                     str(st.modules)))
    return table(rows, ("memory at", "RSS MB", "GL driver libs", "Python + ext. modules",
                        "other files", "anon", "of which [heap]",
                        "malloc used / free kept", "arenas", "threads", "modules"))


def finger_class() -> type:
    """A finger on the glass, as Kivy's UnitTestTouch, without importing pytest (kivy.tests does)."""
    from kivy.base import EventLoop
    from kivy.input.motionevent import MotionEvent

    class Finger(MotionEvent):  # type: ignore[misc]
        def __init__(self, x: float, y: float) -> None:
            window = EventLoop.window
            super().__init__("Finger", 99, {"x": x / (window.width - 1.0),
                                            "y": y / (window.height - 1.0)},
                             is_touch=True, type_id="touch")
            self.profile = ["pos"]

        def depack(self, args: dict[str, float]) -> None:
            self.sx, self.sy = args["x"], args["y"]
            super().depack(args)

        def touch_down(self) -> None:
            EventLoop.post_dispatch_input("begin", self)

        def touch_up(self) -> None:
            EventLoop.post_dispatch_input("end", self)

    return Finger


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def loadavg() -> str:
    """The 1-minute load average: other work on the machine shows in the frame times."""
    return Path("/proc/loadavg").read_text().split()[0]


def summary(name: str, seconds: list[float]) -> tuple[str, ...]:
    ms = [s * 1000 for s in seconds]
    return (name, str(len(ms)), *(f"{percentile(ms, p):.1f}" for p in (50, 90, 99)),
            f"{max(ms):.1f}")


def commit_baselines(directory: Path, count: int) -> dict[str, list[float]]:
    """The disk part alone: Outbox.append, then Kiosk.press (filter + append)."""
    outbox = Outbox(directory / "baseline.db")
    appends = []
    for n in range(count):
        start = time.perf_counter()
        outbox.append({"rating": 1 + n % 4})
        appends.append(time.perf_counter() - start)
    kiosk = Kiosk("bench-1", "bench", outbox, clock=ClockState(Clock.NTP))
    presses = []
    for n in range(count):
        start = time.perf_counter()
        kiosk.press(1 + n % 4, Input.TOUCH)
        presses.append(time.perf_counter() - start)
    outbox.close()
    return {"outbox commit (Outbox.append)": appends, "Kiosk.press (filter + commit)": presses}


def tap_latencies(directory: Path, taps: int, width: int, scale: int,
                  stages: list[Stage]) -> dict[str, Any]:
    """Run the app and tap `taps` times; return the latencies and what the window used."""
    from kivy.app import App
    from kivy.clock import Clock as KivyClock

    from kiosk.touch.controller import TouchController, TouchOptions

    stages.append(stage("+ Kivy and the touch front-end imported"))
    from kivy.core.window import Window

    stages.append(stage("+ window open (SDL2, GL context)"))
    Finger = finger_class()
    outbox = Outbox(directory / "touch.db")
    kiosk = Kiosk("bench-1", "bench", outbox, clock=ClockState(Clock.NTP),
                  settings=KioskSettings(scale=scale))
    latencies: list[float] = []
    switched: list[float] = []  # the UI thread switches to the thank-you screen
    swaps: list[float] = []  # the buffer swap, where a software renderer does its drawing
    state: dict[str, Any] = {"tapped_at": None, "missed": 0, "drawn": False}
    rng = random.Random(4)

    class BenchApp(App):
        def build(self) -> Any:
            # Thank-you for 50 ms instead of 3 s: more taps per minute, same path.
            self.controller = TouchController(kiosk, options=TouchOptions(thanks_s=0.05,
                                                                          idle_after_s=3600))
            original_flip = Window.flip

            def flip() -> None:
                swap_started = time.perf_counter()
                original_flip()
                now = time.perf_counter()
                swaps.append(now - swap_started)
                tapped_at = state["tapped_at"]
                if tapped_at and tapped_at > 0 and self.controller.screen == "thanks":
                    latencies.append(now - tapped_at)
                    state["tapped_at"] = None
                    if len(latencies) == taps:
                        KivyClock.schedule_once(lambda _dt: self.stop(), 0.2)

            Window.flip = flip
            show_thanks = self.controller.show_thanks

            def switched_to_thanks(lang: str) -> None:
                if state["tapped_at"] and state["tapped_at"] > 0:
                    switched.append(time.perf_counter() - state["tapped_at"])
                show_thanks(lang)

            self.controller.show_thanks = switched_to_thanks  # type: ignore[method-assign]
            KivyClock.schedule_once(
                lambda _dt: stages.append(stage("+ screens built")), 0)
            # Clock times count from the import of Kivy, so a delay given here
            # could expire at the very first tick, before any layout: poll.
            KivyClock.schedule_once(self.tap, 0)
            return self.controller.root

        def tap(self, _dt: float) -> None:
            tapped_at = state["tapped_at"]
            if tapped_at and tapped_at > 0 and time.perf_counter() - tapped_at > 2:
                state["missed"] += 1  # never seen a thank-you for it: count it, go on
                state["tapped_at"] = None
            laid_out = self.controller.question.tiles[-1].right > width / 2
            busy = self.controller.screen != "question" or state["tapped_at"] is not None
            if not laid_out or busy:
                KivyClock.schedule_once(self.tap, 0.005)
                return
            if not state["drawn"]:
                state["drawn"] = True
                stages.append(stage("+ first frames drawn"))
            tile = self.controller.question.tiles[len(latencies) % scale]
            touch = Finger(*tile.to_window(*tile.center))
            touch.touch_down()
            state["tapped_at"] = -1.0  # finger down: the face shows it is pressed
            # A finger rests 60-120 ms on the glass; it lifts at any phase of the frames.
            KivyClock.schedule_once(lambda _dt: self.release(touch), 0.06 + rng.random() * 0.06)

        def release(self, touch: Any) -> None:
            state["tapped_at"] = time.perf_counter()
            touch.touch_up()
            KivyClock.schedule_once(self.tap, 0.05 + rng.random() * 0.05)

    started = time.perf_counter()
    BenchApp().run()
    elapsed = time.perf_counter() - started
    outbox.close()
    from kivy.graphics.opengl import GL_RENDERER, glGetString

    return {"taps": latencies[:taps], "switched": switched[:taps], "swaps": swaps,
            "elapsed_s": elapsed, "missed": state["missed"],
            "renderer": glGetString(GL_RENDERER).decode(errors="replace")}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--taps", type=int, default=300, help="taps to time")
    parser.add_argument("--size", default="800x480", help="window size WxH")
    parser.add_argument("--scale", type=int, default=4, choices=(3, 4, 5), help="faces")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the outboxes go (a real disk: fsync is the point)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    load_before = loadavg()
    stages = [stage("Python, kiosk core imported")]
    with tempfile.TemporaryDirectory(prefix="ressenti-touch-bench-", dir=args.dir) as tmp:
        baselines = commit_baselines(Path(tmp), args.taps)
        env.prepare(fullscreen=False, size=(width, height))
        run = tap_latencies(Path(tmp), args.taps, width, args.scale, stages)
    stages.append(stage(f"after the {args.taps} taps"))
    rss_kb, peak_kb = status_kb("VmRSS"), status_kb("VmHWM")

    rows = [summary(name, values) for name, values in baselines.items()]
    rows.append(summary("buffer swap of a frame (GL draws here)", run["swaps"]))
    rows.append(summary("tap -> thank-you screen switched (commit + hand-back)", run["switched"]))
    rows.append(summary("tap -> thank-you frame on screen", run["taps"]))
    print(f"# touch_latency: {args.taps} taps, {width}x{height}, {args.scale} faces, "
          f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"GL {run['renderer']}, Kivy clock {os.environ.get('KIVY_CLOCK', 'default')}, "
          f"load average {load_before} before, {loadavg()} after")
    print(table(rows, ("measure", "n", "p50 ms", "p90 ms", "p99 ms", "max ms")))
    print()
    print(memory_table(stages))
    print("\nlargest mapped files, resident MB: " + ", ".join(
        f"{Path(name).name} {kb / 1024:.1f}" for name, kb in stages[-1].memory.top_files(6)))
    print(f"peak RSS {peak_kb / 1024:.1f} MB; environment: " + " ".join(
        f"{key}={os.environ[key]}" for key in sorted(os.environ)
        if key.startswith(("KIVY_", "MALLOC_", "LP_", "GALLIUM_", "SDL_"))))
    p99 = percentile(run["taps"], 99) * 1000
    ok = p99 <= 100 and peak_kb / 1024 <= 150 and run["missed"] == 0
    verdict = "OK" if ok else "OVER TARGET"
    print(f"\ntaps without a thank-you within 2 s: {run['missed']}")
    print(f"\ntargets: p99 <= 100 ms (got {p99:.1f}), RSS <= 150 MB (peak {peak_kb / 1024:.1f}):"
          f" {verdict}")
    if args.json:
        args.json.write_text(json.dumps({
            "taps": args.taps, "size": [width, height], "scale": args.scale,
            "rows": rows, "missed": run["missed"], "rss_mb": rss_kb / 1024,
            "peak_rss_mb": peak_kb / 1024,
            "memory_mb": {st.name: {
                "rss": st.memory.rss_kb / 1024, "gl_driver_libs": st.memory.gl_driver_kb / 1024,
                "python_and_ext_modules": st.memory.python_kb / 1024,
                "other_files": st.memory.other_files_kb / 1024,
                "anon": st.memory.anon_kb / 1024, "heap": st.memory.brk_heap_kb / 1024,
                "malloc_used_free": [kb / 1024 for kb in st.malloc or ()],
                "arenas": st.arenas, "threads": st.threads, "modules": st.modules,
            } for st in stages},
            "renderer": run["renderer"],
        }, indent=1))
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
