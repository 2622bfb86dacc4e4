"""What a wall display's browser spends per live update: script, style and layout, this page vs an older one.

    .venv/bin/python bench/wall_render.py [--updates 300] [--rate 20] [--sites 3] [--baseline c9500e1]

One web process (no broker: the live hub is told of each change directly) serves two versions of the
wall page side by side: this tree's, and the template, CSS and JavaScript of `--baseline` (a git
revision) under /old/. A headless Chromium at 1920 x 1080 opens each in turn; presses are stored
through the collector's own store, one per update, so each update changes a count, a share, the
rate and the trend. Chromium's own counters (DevTools `Performance.getMetrics`: ScriptDuration,
RecalcStyleDuration, LayoutDuration, TaskDuration) are read before and after, so the figures are
the main thread's real work for those updates, frames included. A resize (landscape to portrait
and back) is timed too: it re-lays out every tile.
"""

from __future__ import annotations

import argparse
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import table
from wall_common import machine

from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site
from collector.service import WebServer
from collector.store import store_batch
from collector.walls import create_wall
from collector.web import create_app
from ressenti.faces import FACE_LABELS
from ressenti.protocol import decode_batch, encode_batch, format_ts, utc_now

ROOT = Path(__file__).resolve().parent.parent
OLD_FILES = ["collector/templates/wall/wall.html", "collector/static/wall/wall.css", "collector/static/wall/wall.js"]
METRICS = ("ScriptDuration", "RecalcStyleDuration", "LayoutDuration", "TaskDuration")


def old_page(app: Any, revision: str, directory: Path) -> None:
    """Serve `revision`'s wall page under /old/wall/<token> (its stream and check are today's)."""
    from flask import Blueprint, render_template_string

    from collector.web import wall
    for name in OLD_FILES:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{name}"], check=True,
                              capture_output=True, text=True).stdout
        target = directory / Path(name).name
        target.write_text(text.replace("url_for('static',", "url_for('old.static',"))
    template = (directory / "wall.html").read_text()
    bp = Blueprint("old", __name__, static_folder=str(directory), static_url_path="/old-static",
                   url_prefix="/old/wall")
    labels = {scale: {r: list(names) for r, names in faces.items()} for scale, faces in FACE_LABELS.items()}

    def page(token: str):  # type: ignore[no-untyped-def]
        return render_template_string(template.replace("wall/wall.css", "wall.css").replace("wall/wall.js", "wall.js"),
                                      lang="fr", labels=labels, rotate_s=300)

    bp.add_url_rule("/<token>", "page", page)
    bp.add_url_rule("/<token>/stream", "stream", wall.stream)
    bp.add_url_rule("/<token>/check", "check", wall.check)
    app.register_blueprint(bp)


class Presser:
    """One press at a time through the collector's own store, for the live hub to announce."""

    def __init__(self, db_path: str, sites: list[str]) -> None:
        self.db = connect(db_path)
        self.sites = sites
        self.seq = {s: 1 for s in sites}
        self.epoch = {s: str(uuid.uuid4()) for s in sites}
        self.rng = random.Random(7)

    def press(self) -> tuple[str, int]:
        site_id = self.rng.choice(self.sites)
        site = get_site(self.db, site_id)
        assert site is not None
        rating = self.rng.choices(range(site.scale, 0, -1), [5, 3, 1, 1, 1][:site.scale])[0]
        seq = self.seq[site_id]
        self.seq[site_id] += 1
        kiosk = f"{site_id}-k"
        event = {"id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(utc_now()), "clock": "ntp", "boot": "b",
                 "up_ms": seq, "question": "overall", "scale": site.scale, "rating": rating, "input": "button",
                 "flags": [], "followup": None, "lang": "fr"}
        batch = decode_batch(encode_batch(kiosk=kiosk, site=site_id, epoch=self.epoch[site_id], boot="b",
                                          up_ms=seq, events=[event]))
        store_batch(self.db, batch, site=site, received_at=utc_now(), topic="bench")
        return site_id, rating


def metrics(cdp: Any) -> dict[str, float]:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] in METRICS}


def measure(browser: Any, url: str, server: WebServer, presser: Presser, updates: int, rate: float) -> dict[str, Any]:
    # The app's CSP forbids eval; only this script's probes need it.
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    page.goto(url)
    page.wait_for_function("window.__wallStatus && window.__wallStatus.snapshots > 0", timeout=10000)
    page.wait_for_timeout(1000)
    hub = server.app.extensions["ressenti_live"]
    before = metrics(cdp)
    start = time.monotonic()
    for n in range(updates):
        site, rating = presser.press()
        hub.announce(site, [rating])
        time.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
    # The hub folds changes to one site that come faster than it reads them into one update: count
    # what the page rendered, once it has had nothing new for 1.5 s (the pulses' end, the last frames).
    count = "window.__wallRenders.length"
    seen = -1
    while seen != (seen := page.evaluate(count)):
        page.wait_for_timeout(1500)
    after = metrics(cdp)
    got = page.evaluate("window.__wallRenders.filter((r) => r.kind === 'update').length")
    handler_ms = page.evaluate("""() => { const u = window.__wallRenders.filter((r) => r.kind === 'update');
      return u.reduce((a, r) => a + (r.t - r.received), 0) / u.length; }""")
    resize_before = metrics(cdp)
    for _ in range(5):
        page.set_viewport_size({"width": 1080, "height": 1920})
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    resize_after = metrics(cdp)
    context.close()
    per = {k: (after[k] - before[k]) * 1000 / max(got, 1) for k in METRICS}
    resize = {k: (resize_after[k] - resize_before[k]) * 1000 / 10 for k in ("LayoutDuration", "RecalcStyleDuration")}
    return {"updates": got, **per, "handler_ms": handler_ms, "resize_layout_ms": resize["LayoutDuration"],
            "resize_style_ms": resize["RecalcStyleDuration"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second")
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--baseline", default="c9500e1", help="git revision of the older page")
    parser.add_argument("--rounds", type=int, default=3, help="baseline then this tree, this many times")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(f"machine: {machine()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    with tempfile.TemporaryDirectory(prefix="wall-render-") as tmp:
        work = Path(tmp)
        db_path = str(work / "collector.db")
        db = connect(db_path)
        sites = []
        for n in range(args.sites):
            site = f"site-{n}"
            add_site(db, site, f"Accueil de quartier n° {n + 1}", scale=(4, 3, 5)[n % 3])
            add_kiosk(db, f"{site}-k", site, f"Borne {n + 1}")
            sites.append(site)
        _, secret = create_wall(db, "default", "bench")
        db.close()
        import collector.web
        # The older page is public like the wall it was (the login rule reads this set when the app is made).
        collector.web.PUBLIC_BLUEPRINTS = collector.web.PUBLIC_BLUEPRINTS | {"old"}
        app = create_app({"DATABASE": db_path, "BROKER_URL": None, "SECRET_KEY": secrets.token_hex(16)})
        (work / "old").mkdir()
        old_page(app, args.baseline, work / "old")
        server = WebServer(app, "127.0.0.1", 0)
        server.start()
        presser = Presser(db_path, sites)
        rows = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                    "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
                # Alternated, so a change in the machine's load falls on both alike.
                pages = ((f"baseline ({args.baseline})", f"{server.url}/old/wall/{secret}"),
                         ("this tree", f"{server.url}/wall/{secret}"))
                for (name, url) in [page for _ in range(args.rounds) for page in pages]:
                    result = measure(browser, url, server, presser, args.updates, args.rate)
                    rows.append((name, result["updates"], f"{result['handler_ms']:.2f}",
                                 f"{result['ScriptDuration']:.2f}",
                                 f"{result['RecalcStyleDuration']:.2f}", f"{result['LayoutDuration']:.2f}",
                                 f"{result['TaskDuration']:.2f}", f"{result['resize_style_ms']:.1f}",
                                 f"{result['resize_layout_ms']:.1f}"))
                browser.close()
        finally:
            server.stop()
    print(f"{args.sites} sites at 1920 x 1080, {args.updates} presses at {args.rate:g}/s; handler: ms from an update's"
          " arrival to its figures in the DOM (Date.now()); script, style, layout, all tasks: ms of the main thread"
          " per update (DevTools metrics); resize: ms per relayout")
    print(table(rows, ("page", "updates", "handler", "script", "style", "layout", "all tasks", "resize: style",
                       "resize: layout")))


if __name__ == "__main__":
    main()
