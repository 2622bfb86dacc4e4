"""One alert evaluation pass on 2,000 sites / 20,000 kiosks with a year of rollups (issue 12).

    PYTHONPATH=$PWD .venv/bin/python bench/alerts_eval.py [--sites 2000] [--kiosks-per-site 10] [--days 365]
                                                          [--per-hour 2] [--passes 7] [--ingest S --rounds 5]

The database is bench/alerts_fixture.py's (built once, cached under /tmp by
its parameters; each run works on a fresh copy, so the cached file stays as
built). Times `evaluate` at a Tuesday 10:30 Paris time (every site open, no
answer yet that day): the first pass (raises), then steady passes (nothing
new: the every-minute case). Baseline in the same run: reading the same
database's fleet page data (`collector.fleet.fleet` without gaps), which the
fleet page does per request.

`--ingest S` then stores 10-event batches through `store_batch` (the HTTP
sources' path: one transaction and fsync per batch) into the same database
for S seconds at a time, `--rounds` times alone (A) and `--rounds` times with
an evaluator process (niced like its unit) running passes back to back (B),
interleaved A B A B ...: the passes run about 100 times as often as in
production (one pass of well under a second a minute). Median and spread of
each, and the passes the evaluator completed during each B round.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alerts_fixture import ensure, fixture_path
from common import percentile, table

from collector.alerts.evaluate import evaluate
from collector.db import connect
from collector.fleet import fleet
from ressenti.protocol import format_ts

PARIS = ZoneInfo("Europe/Paris")


def evaluator_loop(path: Path, now: datetime, running, stop, passes) -> None:  # type: ignore[no-untyped-def]
    """Passes back to back while `running` is set, until `stop`; niced like the unit (Nice=10)."""
    os.nice(10)  # systemd/ressenti-collector-alerts.service
    db = connect(path)
    n = 0
    while not stop.is_set():
        if not running.wait(0.05):
            continue
        evaluate(db, now + timedelta(seconds=n))
        n += 1
        with passes.get_lock():
            passes.value += 1
    db.close()


def ingest_rate(path: Path, seconds: float, payloads: list) -> float:  # type: ignore[type-arg]
    """Batches of 10 events stored per second through store_batch, for `seconds`."""
    from collector.registry import get_site
    from collector.store import store_batch
    from ressenti.protocol import utc_now

    db = connect(path)
    site = get_site(db, "ingest-bench")
    assert site is not None
    stored, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds and stored < len(payloads):
        store_batch(db, payloads[stored], site=site, received_at=utc_now(), topic="bench")
        stored += 1
    rate = stored / (time.perf_counter() - started)
    db.close()
    return rate


def spread(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}"


def compare_ingest(path: Path, now: datetime, seconds: float, rounds: int) -> None:
    from common import make_batches

    from collector.registry import add_kiosk, add_site
    from ressenti.protocol import decode_batch

    db = connect(path)
    add_site(db, "ingest-bench", "Ingest bench")
    add_kiosk(db, "ingest-bench-1", "ingest-bench")
    db.close()
    ctx = multiprocessing.get_context("fork")
    running, stop, passes = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    loop = ctx.Process(target=evaluator_loop, args=(path, now, running, stop, passes))
    loop.start()
    alone: list[float] = []
    beside: list[float] = []
    rows = []
    try:
        for round_ in range(1, rounds + 1):
            # Fresh kiosk streams each time (a new epoch), the same amount of work per batch.
            payloads = [decode_batch(p) for p in make_batches("ingest-bench-1", "ingest-bench", 5000, 10)]
            alone.append(ingest_rate(path, seconds, payloads))
            rows.append((f"A{round_}", "alone (baseline)", f"{alone[-1]:.0f}", ""))
            payloads = [decode_batch(p) for p in make_batches("ingest-bench-1", "ingest-bench", 5000, 10)]
            before = passes.value
            running.set()
            time.sleep(0.5)  # a pass under way
            beside.append(ingest_rate(path, seconds, payloads))
            running.clear()
            rows.append((f"B{round_}", "beside passes back to back", f"{beside[-1]:.0f}", passes.value - before))
    finally:
        stop.set()
        running.set()
        loop.join(120)
    print(table(rows, ("round", "ingest", "batches/s", "passes during it")))
    a, b = statistics.median(alone), statistics.median(beside)
    print(table([("alone (baseline)", len(alone), f"{a:.0f}", spread(alone), ""),
                 ("beside passes", len(beside), f"{b:.0f}", spread(beside), f"{100 * (b - a) / a:+.1f} %")],
                ("ingest", "rounds", "median batches/s", "min-max", "median change")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--kiosks-per-site", type=int, default=10)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-hour", type=int, default=2)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path("/tmp"), help="folder of the cached fixtures")
    parser.add_argument("--ingest", type=float, default=0, help="seconds per ingest measurement (0: none)")
    parser.add_argument("--rounds", type=int, default=5, help="ingest rounds alone and beside the passes, each")
    args = parser.parse_args()
    # A recent Tuesday, 10:30 in Paris: every site is open.
    today = datetime.now(PARIS).date()
    tuesday = today - timedelta(days=(today.weekday() - 1) % 7 or 7)
    now = datetime(tuesday.year, tuesday.month, tuesday.day, 10, 30, tzinfo=PARIS).astimezone(UTC)
    shape = {"sites": args.sites, "kiosks": args.kiosks_per_site, "days": args.days, "per_hour": args.per_hour,
             "now": format_ts(now)}
    cached = fixture_path(args.cache, shape)
    built = ensure(cached, args.sites, args.kiosks_per_site, args.days, args.per_hour, now)
    print(f"fixture {cached}: " + (f"built in {built:.0f} s" if built else "cached"), file=sys.stderr)
    work = cached.with_name(cached.stem + "-run.db")
    for stale in (work, work.with_name(work.name + "-wal"), work.with_name(work.name + "-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(cached, work)
    try:
        measure(work, now, args)
    finally:
        for stale in (work, work.with_name(work.name + "-wal"), work.with_name(work.name + "-shm")):
            stale.unlink(missing_ok=True)


def measure(path: Path, now: datetime, args: argparse.Namespace) -> None:
    db = connect(path)
    events = db.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    hourly = db.conn.execute("SELECT COUNT(*) FROM rollup_hourly").fetchone()[0]
    first, last = db.conn.execute("SELECT MIN(hour), MAX(hour) FROM rollup_hourly").fetchone()
    local = db.conn.execute("SELECT COUNT(*) FROM rollup_local").fetchone()[0]
    rows = []
    timings = []
    for n in range(args.passes):
        started = time.perf_counter()
        result = evaluate(db, now + timedelta(seconds=n))
        timings.append((time.perf_counter() - started) * 1000)
        if n == 0:
            rows.append(("first pass (raises)", f"{timings[0]:.0f}", "", "", result.raised))
    steady = timings[1:]
    rows.append((f"steady pass x{len(steady)}", f"{percentile(steady, 50):.0f}", f"{max(steady):.0f}",
                 f"{min(steady):.0f}", result.changes))
    base = []
    for _ in range(3):
        started = time.perf_counter()
        fleet(db, with_gaps=False)
        base.append((time.perf_counter() - started) * 1000)
    rows.append(("baseline: fleet state of every kiosk", f"{percentile(base, 50):.0f}", f"{max(base):.0f}",
                 f"{min(base):.0f}", ""))
    kinds = dict(db.conn.execute("SELECT kind, COUNT(*) FROM alerts GROUP BY kind").fetchall())
    size = path.stat().st_size / 2**30
    print(f"{args.sites} sites, {args.sites * args.kiosks_per_site} kiosks, {events:,} events, "
          f"{hourly:,} hourly rollup rows ({first} to {last}), {local:,} local rollup rows, {size:.1f} GiB;"
          f" alerts open: {kinds}")
    print(table(rows, ("what", "p50 ms", "max ms", "min ms", "changes")))
    db.close()
    if args.ingest:
        compare_ingest(path, now, args.ingest, args.rounds)


if __name__ == "__main__":
    main()
