"""The delivery half of press -> alert e-mail (issue 12): an `alert_changes` row -> the SMTP server accepted it.

    PYTHONPATH=$PWD .venv/bin/python bench/alerts_delivery.py [--changes 1000] [--rate 50]

A writer appends `--changes` changes at `--rate` per second (each a different
rule, so the debounce groups nothing) while `ressenti collector alerts-deliver`'s
loop (`DeliveryLoop`, on its own connection, polling every 5 s) delivers them to
a real aiosmtpd server on 127.0.0.1, in its own process; the latency of a change is the server's
acceptance time minus the time its row was committed. Two settings: the default
(no hold) and a hold of 20 s (a change waits for a quick resolve). The baseline, in the
same run against the same server: smtplib sending ready-made messages over one
connection (the floor any delivery pays per message).
"""

from __future__ import annotations

import argparse
import dataclasses
import smtplib
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from alerts_support import add_change  # noqa: E402
from common import percentile, table  # noqa: E402
from smtp_sink import TimedServer  # noqa: E402
from web_support import quick_user  # noqa: E402

from collector.alerts.delivery import DeliveryLoop  # noqa: E402
from collector.alerts.delivery_settings import from_env  # noqa: E402
from collector.alerts.subscriptions import set_email  # noqa: E402
from collector.db import connect  # noqa: E402
from collector.registry import add_site  # noqa: E402
from ressenti.protocol import utc_now  # noqa: E402

KINDS = ["unhappy_share", "silence", "unusual_volume", "kiosk_offline", "seq_gaps", "clock_unsynced",
         "satisfaction_drop"]


def run(tmp: Path, changes: int, rate: float, hold_s: int) -> list[float]:
    server = TimedServer(rb"bench-(\d+)")
    path = tmp / f"delivery-{hold_s}.db"
    db = connect(path)
    sites = (changes + len(KINDS) - 1) // len(KINDS)
    for i in range(sites):
        add_site(db, f"site-{i}", f"Site {i}", org="bench")
    set_email(db, quick_user(db, "alice", "admin"), "alice@ville.example.fr")
    settings = from_env(server.env(RESSENTI_ALERTS_HOLD_S=str(hold_s), RESSENTI_ALERTS_DAILY_CAP="10000"))
    loop = DeliveryLoop(str(path), dataclasses.replace(settings, poll_s=5.0))
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    committed: dict[int, float] = {}
    start = time.monotonic()
    for n in range(changes):
        time.sleep(max(0.0, start + n / rate - time.monotonic()))
        add_change(db, alert_id=n, change="raised", at=utc_now(), site=f"site-{n // len(KINDS)}", org="bench",
                   kind=KINDS[n % len(KINDS)], summary=f"bench-{n}")
        committed[n] = time.time()
    accepted = server.collect(changes, 300)
    if len(accepted) < changes:
        print(f"only {len(accepted)} of {changes} accepted after 300 s", file=sys.stderr)
    loop.stop()
    thread.join(30)
    server.stop()
    db.close()
    return [(accepted[n] - committed[n]) * 1000 for n in committed if n in accepted]


def baseline(changes: int) -> list[float]:
    server = TimedServer(rb"bench-(\d+)")
    durations = []
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
        for n in range(changes):
            msg = EmailMessage()
            msg["Subject"], msg["From"], msg["To"] = f"bench-{n}", "alertes@ville.example.fr", "a@ville.example.fr"
            msg.set_content("Alerte levée\n" * 20)
            msg.add_alternative("<p>Alerte levée</p>" * 20, subtype="html")
            t0 = time.perf_counter()
            smtp.send_message(msg)
            durations.append((time.perf_counter() - t0) * 1000)
    server.stop()
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="changes appended per second")
    parser.add_argument("--holds", default="0,20", help="RESSENTI_ALERTS_HOLD_S values to run, comma-separated")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for hold in (int(h) for h in args.holds.split(",")):
            ms = run(Path(tmp), args.changes, args.rate, hold)
            what = f"change row -> SMTP accepted, {args.rate:g}/s, hold {hold} s, poll 5 s"
            rows.append((what, len(ms), f"{percentile(ms, 50):.0f}",
                         f"{percentile(ms, 99):.0f}", f"{max(ms):.0f}"))
        ms = baseline(args.changes)
        rows.append(("smtplib send_message, one connection (baseline)", len(ms), f"{percentile(ms, 50):.1f}",
                     f"{percentile(ms, 99):.1f}", f"{max(ms):.1f}"))
    print(table(rows, ("what", "n", "p50 ms", "p99 ms", "max ms")))


if __name__ == "__main__":
    main()
