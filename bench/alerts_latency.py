"""Press -> alert e-mail accepted by the SMTP server, end to end, for an unhappy-share rule (issue 12).

    PYTHONPATH=$PWD .venv/bin/python bench/alerts_latency.py [--trials 60] [--over 240] [--every 30]

A real Mosquitto and `ressenti collector ingest` (its own process) as in
bench/ingest_throughput.py; an aiosmtpd server in its own process (as in
bench/alerts_delivery.py). Each trial is a site of its own whose kiosk publishes
four presses of the bottom face, one batch per press as a kiosk online does, at
a random moment of `--over` seconds: the day-one unhappy-share rule (50 % over
15 minutes, at least 4 answers) holds from the fourth. The evaluator runs on
its normal period (`--every`, the service's default 30 s) in this script's own
loop, each pass followed by `collector.alerts.delivery.run_delivery_once` (the
alerts service does not deliver yet); delivery at its defaults but the daily
cap (raised, or one recipient's 20 e-mails a day would stop the run).

Latencies from the fourth press's publication: stored (its ack came back: the
floor, measured in the same run), alert raised (`alert_changes.at` of the
pass), e-mail accepted (the SMTP server's 250 to DATA).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from common import BOOT, client, percentile, table  # noqa: E402
from smtp_sink import TimedServer  # noqa: E402
from web_support import quick_user  # noqa: E402

from collector.alerts.delivery import run_delivery_once  # noqa: E402
from collector.alerts.delivery_settings import from_env  # noqa: E402
from collector.alerts.evaluate import evaluate  # noqa: E402
from collector.alerts.subscriptions import set_email  # noqa: E402
from collector.db import connect  # noqa: E402
from collector.registry import add_kiosk, add_site  # noqa: E402
from ressenti.mosquitto_runner import start_mosquitto  # noqa: E402
from ressenti.protocol import Kind, decode_ack, encode_batch, format_ts, parse_topic, subscription, topic, utc_now  # noqa: E402

PRESSES = 4  # the day-one rule's minimum count
NAME = "bench-site-{}"


class Acks:
    """When each trial's fourth press was acked (stored by the ingest)."""

    def __init__(self, broker) -> None:  # type: ignore[no-untyped-def]
        self.at: dict[int, float] = {}
        self.c = client(broker, "bench-acks")
        self.c.on_message = self._on_message
        self.c.subscribe(subscription(Kind.ACK), qos=1)

    def _on_message(self, c, u, message) -> None:  # type: ignore[no-untyped-def]
        kiosk = parse_topic(message.topic).kiosk
        if kiosk.startswith("k-") and decode_ack(message.payload).through >= PRESSES:
            self.at.setdefault(int(kiosk[2:]), time.time())


def presses(n: int) -> list[bytes]:
    epoch = str(uuid.uuid4())
    return [encode_batch(kiosk=f"k-{n}", site=f"s-{n}", epoch=epoch, boot=BOOT, up_ms=seq, events=[{
        "id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(utc_now()), "clock": "ntp", "boot": BOOT,
        "up_ms": seq, "question": "overall", "scale": 4, "rating": 1, "input": "button", "flags": [],
        "followup": None, "lang": "fr"}]) for seq in range(1, PRESSES + 1)]


def evaluator(db_path: Path, settings, every_s: float, stop: threading.Event, passes: list[float]) -> None:  # type: ignore[no-untyped-def]
    """The alerts service's loop (collector/alerts/service.py), with delivery after each pass."""
    db = connect(db_path)
    try:
        while not stop.is_set():
            started = time.monotonic()
            evaluate(db)
            run_delivery_once(db, settings)
            passes.append(time.monotonic() - started)
            stop.wait(max(0.0, every_s - (time.monotonic() - started)))
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=60, help="sites that each have a bad moment")
    parser.add_argument("--over", type=float, default=240.0, help="seconds over which the trials are spread")
    parser.add_argument("--every", type=float, default=30.0, help="evaluation period (the service's default)")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="alerts-latency-"))
    db_path = tmp / "collector.db"
    db = connect(db_path)
    for n in range(args.trials):
        add_site(db, f"s-{n}", NAME.format(n), org="bench")
        add_kiosk(db, f"k-{n}", f"s-{n}")
    set_email(db, quick_user(db, "alice", "admin"), "alice@ville.example.fr")
    db.close()

    smtp = TimedServer(rb"bench-site-(\d+)")
    settings = from_env(smtp.env(RESSENTI_ALERTS_HOLD_S="0", RESSENTI_ALERTS_DAILY_CAP="10000"))
    broker = start_mosquitto(tmp / "broker", "max_queued_messages 0")
    log = open(tmp / "ingest.log", "w")  # noqa: SIM115
    ingest = subprocess.Popen([sys.executable, "-m", "cli", "collector", "ingest", "--db", str(db_path),
                               "--broker", f"mqtt://{broker.address.host}:{broker.address.port}",
                               "--instance", "bench"], stderr=log)
    stop, passes = threading.Event(), []  # type: ignore[var-annotated]
    loop = threading.Thread(target=evaluator, args=(db_path, settings, args.every, stop, passes))
    try:
        acks = Acks(broker.address)
        pub = client(broker.address, "bench-kiosks")
        time.sleep(2)  # the ingest subscribes
        loop.start()
        schedule = sorted(random.uniform(0, args.over) for _ in range(args.trials))
        start, published = time.monotonic(), {}
        for n, offset in enumerate(schedule):
            time.sleep(max(0.0, start + offset - time.monotonic()))
            for i, payload in enumerate(presses(n)):
                time.sleep(0.1 if i else 0)
                pub.publish(topic(f"s-{n}", f"k-{n}", Kind.EVENTS), payload, qos=1).wait_for_publish(10)
            published[n] = time.time()
        accepted = smtp.collect(args.trials, 2 * args.every + 60)
        pub.disconnect()
        acks.c.disconnect()
    finally:
        stop.set()
        if loop.is_alive():
            loop.join(60)
        ingest.terminate()
        ingest.wait(10)
        broker.stop()
        smtp.stop()
    db = connect(db_path)
    raised = {int(site[2:]): utc for site, utc in db.conn.execute(
        "SELECT site, MIN(at) FROM alert_changes WHERE kind = 'unhappy_share' AND change = 'raised' GROUP BY site")}
    db.close()
    raised_s = [datetime.fromisoformat(at).timestamp() - published[n] for n, at in raised.items() if n in published]
    stored_s = [acks.at[n] - published[n] for n in published if n in acks.at]
    mailed_s = [accepted[n] - published[n] for n in published if n in accepted]
    rows = []
    for label, values in (("stored (ack back: the floor)", stored_s), ("alert raised", raised_s),
                          ("e-mail accepted by SMTP", mailed_s)):
        rows.append((label, f"{len(values)}/{args.trials}", f"{percentile(values, 50):.2f}" if values else "-",
                     f"{percentile(values, 99):.2f}" if values else "-", f"{max(values):.2f}" if values else "-"))
    print(f"{args.trials} trials over {args.over:.0f} s, evaluation every {args.every:.0f} s;"
          f" pass + delivery: median {percentile(passes, 50) * 1000:.0f} ms, max {max(passes) * 1000:.0f} ms"
          f" ({len(passes)} passes)")
    print(table(rows, ("press → …", "trials", "p50 s", "p99 s", "max s")))
    if len(mailed_s) < args.trials:
        print(f"only {len(mailed_s)} of {args.trials} e-mails accepted; see {tmp}/ingest.log", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
