"""Press -> wall display latency in a real browser, with 200 kiosks pressing at 10x a busy morning.

    .venv/bin/python bench/wall_latency.py [--kiosks 200] [--sites 40] [--rate 33] [--seconds 60]

Mosquitto, the ingest loop (`ressenti collector ingest`) and the web (gunicorn, gthread) run as their own
processes, as in production. This process runs the kiosks: the real kiosk core (filter, outbox committed
with synchronous=FULL) and the real Link (paho, one MQTT connection per kiosk), and a headless Chromium
showing the organisation's wall at 1920 x 1080 (40 sites, rotating three at a time).

A busy reception point takes about one press a minute at peak; 10x is ten a minute per kiosk, so
200 kiosks make 33 presses a second, arriving at random (Poisson). A press's latency runs from the
moment `Kiosk.press` is called to the moment the wall's page has put a total that includes it into
its DOM (the page records `Date.now()` for every update it renders: `window.__wallRenders`); both
clocks are this machine's.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table
from wall_common import (
    KioskFleet,
    cpu_seconds,
    latencies,
    machine,
    press_poisson,
    start_stack,
    summary,
    to_ingest_ms,
)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def browser_pid() -> int:
    """The Chromium that Playwright started (a child of this process's Playwright driver)."""
    import psutil
    for child in psutil.Process().children(recursive=True):
        if "chrom" in child.name() and child.parent() and "chrom" not in child.parent().name():
            return child.pid
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kiosks", type=int, default=200)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--rate", type=float, default=33.0, help="presses per second, all kiosks together")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--no-pulse", action="store_true", help="stub out the pulse animation (to measure its cost)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    host = machine()  # before this benchmark adds its own load
    work = Path(tempfile.mkdtemp(prefix="ressenti-wall-latency-"))
    stack = start_stack(work, sites=args.sites, kiosks=args.kiosks)
    fleet = None
    try:
        fleet = KioskFleet(args.kiosks, args.sites, stack.mosquitto.url, work)
        print(f"{args.kiosks} kiosks connected; wall at {stack.wall_url}", file=sys.stderr)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(stack.wall_url)
            page.wait_for_function("window.__wallStatus && window.__wallStatus.snapshots >= 1", timeout=30000)
            if args.no_pulse:
                page.evaluate("Element.prototype.animate = function () { return null; }")
            time.sleep(3)  # the kiosks' first heartbeats reach the wall; then it is quiet

            groups = {"web (gunicorn)": [stack.web.pid], "ingest": [stack.ingest.pid],
                      "mosquitto": [stack.mosquitto.process.pid], "kiosks (4 processes)": fleet.pids,
                      "chromium": [browser_pid()]}
            cpu_before = cpu_seconds(groups)
            rng = random.Random(1)
            count, elapsed = press_poisson(fleet, rate=args.rate, seconds=args.seconds, kiosks=args.kiosks, rng=rng)
            cpu_after = cpu_seconds(groups)
            time.sleep(5)  # the last presses travel
            renders = page.evaluate("window.__wallRenders")
            browser.close()
        presses = fleet.stop()
        ingest_ms = to_ingest_ms(work / "collector.db", fleet.by_seq)
        fleet = None
        seen: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for r in renders:
            seen[r["site"]].append((r["t"] / 1000, r["total"]))
        values, missing = latencies(presses, seen)
        render_ms = [r["t"] - r["received"] for r in renders if r.get("received")]
        # From the moment the web process computed the figures to the page's event handler.
        delivery_ms = [r["received"] - r["computed"] for r in renders if r.get("computed")]
        result = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": host, "kiosks": args.kiosks,
            "sites": args.sites, "presses": count, "rate_per_s": round(count / elapsed, 1),
            "renders": len(renders), "not_shown": missing,
            "latency_ms": {k: round(v, 1) for k, v in summary(values).items()},
            "render_ms": {k: round(v, 1) for k, v in summary(render_ms).items()},
            "cpu_share_of_one_core": {k: round((cpu_after[k] - cpu_before[k]) / elapsed, 2) for k in groups},
            "press_to_ingest_ms": {k: round(v, 1) for k, v in summary(ingest_ms).items()},
            "delivery_ms": {k: round(v, 1) for k, v in summary(delivery_ms).items()},
        }
    finally:
        if fleet is not None:
            fleet.stop()
        stack.stop()
    lat = result["latency_ms"]
    print(table([(f"{result['presses']} presses, {result['rate_per_s']}/s, {args.kiosks} kiosks, {args.sites} sites",
                  lat.get("p50"), lat.get("p90"), lat.get("p99"), lat.get("max"), missing)],
                ("run", "p50 ms", "p90 ms", "p99 ms", "max ms", "not shown")))
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
