"""What the wall benchmarks share: a production-shaped collector (Mosquitto, ingest and gunicorn web as
their own processes), an organisation of sites and kiosks, and press-to-display matching."""

from __future__ import annotations

import os
import platform
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile

from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.walls import create_wall
from ressenti.mosquitto_runner import Mosquitto, free_port, start_mosquitto

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
ORG = "bench"


def site_of(kiosk: int, sites: int) -> str:
    return f"site-{kiosk % sites:02d}"


def kiosk_id(kiosk: int) -> str:
    return f"kiosk-{kiosk:03d}"


@dataclass
class Stack:
    """Mosquitto + `ressenti collector ingest` + gunicorn (gthread) on one database."""

    directory: Path
    mosquitto: Mosquitto
    ingest: subprocess.Popen
    web: subprocess.Popen
    port: int
    wall_secret: str
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def wall_url(self) -> str:
        return f"{self.url}/wall/{self.wall_secret}"

    def web_worker_pid(self) -> int:
        """gunicorn's worker (the process that serves), not its master."""
        import psutil
        children = psutil.Process(self.web.pid).children()
        return children[0].pid if children else self.web.pid

    def stop(self) -> None:
        for process in (self.web, self.ingest):
            process.terminate()
        for process in (self.web, self.ingest):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.mosquitto.stop()


def start_stack(directory: Path, *, sites: int, kiosks: int, threads: int = 128, workers: int = 1) -> Stack:
    directory.mkdir(parents=True, exist_ok=True)
    db_path = directory / "collector.db"
    db = connect(db_path)
    for s in range(sites):
        add_site(db, f"site-{s:02d}", f"Accueil {s:02d}", org=ORG, scale=4)
    for k in range(kiosks):
        add_kiosk(db, kiosk_id(k), site_of(k, sites))
    _, secret = create_wall(db, ORG, "benchmark")
    db.close()
    mosquitto = start_mosquitto(directory / "mosquitto")
    env = {**os.environ, "RESSENTI_DATABASE": str(db_path), "RESSENTI_BROKER_URL": mosquitto.url,
           "RESSENTI_SECRET_KEY": secrets.token_hex(32), "PYTHONPATH": str(ROOT)}
    log = open(directory / "processes.log", "ab")  # noqa: SIM115 - kept open for the children's lifetime
    ingest = subprocess.Popen([sys.executable, "-m", "cli", "collector", "ingest"], env=env,
                              stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    port = free_port()
    web = subprocess.Popen([str(VENV_BIN / "gunicorn"), "-k", "gthread", "--threads", str(threads),
                            "-w", str(workers),
                            "-b", f"127.0.0.1:{port}", "--log-level", "warning", "collector.web.wsgi:app"],
                           env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/sites", timeout=2):
                break
        except OSError:
            if time.monotonic() > deadline or web.poll() is not None:
                raise SystemExit(f"the web process did not start; see {directory / 'processes.log'}") from None
            time.sleep(0.2)
    time.sleep(1.0)  # let the web's live hub subscribe to the bus
    return Stack(directory, mosquitto, ingest, web, port, secret)


def cpu_seconds(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by each group of processes (and their children)."""
    import psutil
    out = {}
    for name, pids in groups.items():
        total = 0.0
        for pid in pids:
            try:
                process = psutil.Process(pid)
                for p in [process, *process.children(recursive=True)]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        out[name] = total
    return out


def latencies(presses: dict[str, list[float]], seen: dict[str, list[tuple[float, int]]]) -> tuple[list[float], int]:
    """Per press, ms from the press until a display showed its site's total including it.

    `presses[site]` are the press times (s) in order; `seen[site]` the (time s, total) a display showed.
    Press k of a site counts as shown at the first moment the total reached k. Two kiosks of one site
    may deliver out of order; then one press is credited with a neighbour's moment (a few ms at most
    at this rate). Presses never shown are returned as a count.
    """
    out, missing = [], 0
    for site, times in presses.items():
        shown = sorted(seen.get(site, []))
        i = 0
        best = 0
        for k, pressed in enumerate(times, start=1):
            while i < len(shown) and best < k:
                best = max(best, shown[i][1])
                moment = shown[i][0]
                i += 1
            if best >= k:
                out.append((moment - pressed) * 1000)
            else:
                missing += 1
    return out, missing


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"n": len(values), "p50": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": max(values)}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) // 1024
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} CPU ({cpu}), {mem} MB RAM, Python {platform.python_version()},"
            f" {platform.platform()}; load average at start {load}")


# -- simulated kiosks, spread over processes --------------------------------------------
# paho's network loop uses select(), which cannot watch file descriptors above 1024: one
# process holds about 170 kiosks (socket, wake pipe, outbox files). Real kiosks are one per
# Pi; here 50 share a process, and the benchmark's own process only schedules presses.

PER_PROCESS = 50


def _kiosk_worker(numbers: list[int], sites: int, broker_url: str, workdir: str, commands, results) -> None:
    from kiosk.clock import ClockState
    from kiosk.core import Kiosk
    from kiosk.link import Link
    from kiosk.outbox import Outbox
    from ressenti.mqtt import parse_broker_url
    from ressenti.protocol import Clock, Input, KioskSettings

    broker = parse_broker_url(broker_url)
    kiosks: dict[int, tuple[Kiosk, Link]] = {}
    for n in numbers:
        kiosk = Kiosk(kiosk_id(n), site_of(n, sites), Outbox(Path(workdir) / "kiosks" / kiosk_id(n) / "outbox.db"),
                      settings=KioskSettings(scale=4), clock=ClockState(Clock.NTP))
        link = Link(kiosk, broker, heartbeat_s=60)
        link.start()
        kiosks[n] = (kiosk, link)
    deadline = time.monotonic() + 60
    while not all(link.connected.is_set() for _, link in kiosks.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    results.put(("ready", sum(link.connected.is_set() for _, link in kiosks.values())))
    presses = []
    while (command := commands.get()) is not None:
        n, rating = command
        kiosk = kiosks[n][0]
        moment = time.time()  # the moment of the press, on this machine's clock
        event = kiosk.press(rating, Input.BUTTON)
        presses.append((kiosk.site, moment, kiosk.kiosk_id, event["seq"]))
    results.put(("presses", presses))
    for _, link in kiosks.values():
        link.stop(2)


class KioskFleet:
    """`count` real kiosks (core, outbox, Link) in worker processes; `press(n, rating)` presses kiosk n."""

    def __init__(self, count: int, sites: int, broker_url: str, workdir: Path) -> None:
        import multiprocessing
        context = multiprocessing.get_context("spawn")
        self.count = count
        self.results = context.Queue()
        self.workers = []
        for first in range(0, count, PER_PROCESS):
            numbers = list(range(first, min(count, first + PER_PROCESS)))
            commands = context.Queue()
            process = context.Process(target=_kiosk_worker, daemon=True,
                                      args=(numbers, sites, broker_url, str(workdir), commands, self.results))
            process.start()
            self.workers.append((numbers, commands, process))
        ready = sum(self.results.get(timeout=120)[1] for _ in self.workers)
        if ready != count:
            raise SystemExit(f"only {ready}/{count} kiosks connected")

    def press(self, n: int, rating: int) -> None:
        self.workers[n // PER_PROCESS][1].put((n, rating))

    def stop(self) -> dict[str, list[float]]:
        """Stop every kiosk; return each site's press times, in order (and keep each press's
        (kiosk, seq) -> time in `self.by_seq`, to find it in the collector's database)."""
        for _, commands, _ in self.workers:
            commands.put(None)
        presses: dict[str, list[float]] = {}
        self.by_seq: dict[tuple[str, int], float] = {}
        for _ in self.workers:
            kind, items = self.results.get(timeout=60)
            for site, moment, kiosk, seq in items:
                presses.setdefault(site, []).append(moment)
                self.by_seq[(kiosk, seq)] = moment
        for _, _, process in self.workers:
            process.join(10)
        return {site: sorted(times) for site, times in presses.items()}

    @property
    def pids(self) -> list[int]:
        return [process.pid for _, _, process in self.workers if process.pid]


def to_ingest_ms(db_path: Path, by_seq: dict[tuple[str, int], float]) -> list[float]:
    """Per press, ms from the press to the moment ingest received its batch (events.received_at)."""
    from datetime import datetime

    from collector.db import connect
    db = connect(db_path)
    out = []
    for kiosk, seq, received in db.conn.execute("SELECT kiosk, seq, received_at FROM events"):
        if (kiosk, seq) in by_seq:
            moment = datetime.fromisoformat(received.replace("Z", "+00:00")).timestamp()
            out.append((moment - by_seq[(kiosk, seq)]) * 1000)
    db.close()
    return out


def press_poisson(fleet, *, rate: float, seconds: float, kiosks: int, rng) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    """Press random kiosks at random (Poisson) moments, `rate` a second for `seconds`; return (presses, elapsed)."""
    started = time.monotonic()
    next_at, count = started, 0
    while next_at - started < seconds:
        next_at += rng.expovariate(rate)
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fleet.press(rng.randrange(kiosks), rng.randint(1, 4))
        count += 1
    return count, time.monotonic() - started
