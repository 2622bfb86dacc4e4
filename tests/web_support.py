"""Helpers for the web tests: logging in through real forms, history stored by the real store, axe scans."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from collector.registry import add_kiosk, add_org, add_site, get_site
from collector.store import store_batch
from ressenti.protocol import decode_batch, encode_batch, format_ts, utc_now

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE = Path(__file__).resolve().parent.parent / ".venv" / "node" / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(client: Any, user: str, password: str = PASSWORD) -> Any:
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"login": user, "password": password, "csrf_token": token})


def post_form(client: Any, page: str, action: str, data: dict[str, Any]) -> Any:
    """Submit a form as a browser would: the CSRF token comes from the page that holds the form."""
    token = csrf(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


@dataclass
class Press:
    when: datetime
    rating: int
    channel: str = "button"
    flagged: bool = False
    followup: dict[str, str] | None = None


def store_presses(db: Database, kiosk: str, site_id: str, presses: list[Press], *, scale: int | None = None,
                  epoch: str | None = None, first_seq: int = 1, question: str = "overall",
                  received_at: datetime | None = None) -> int:
    """Store presses through the collector's own store (events + rollups, one transaction per batch).

    `received_at` (default: now) is when the collector is said to receive them."""
    site = get_site(db, site_id)
    assert site is not None
    scale = scale or site.scale
    epoch = epoch or str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{kiosk}-epoch"))
    seq = first_seq
    for start in range(0, len(presses), 500):
        events = []
        for p in presses[start:start + 500]:
            events.append({
                "id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(p.when), "clock": "ntp", "boot": "seed",
                "up_ms": seq, "question": question, "scale": scale, "rating": p.rating, "input": p.channel,
                "flags": ["rapid_repeat"] if p.flagged else [], "followup": p.followup, "lang": "fr"})
            seq += 1
        batch = decode_batch(encode_batch(kiosk=kiosk, site=site_id, epoch=epoch, boot="seed", up_ms=seq,
                                          events=events))
        store_batch(db, batch, site=site, received_at=received_at or utc_now(), topic="seed")
    return seq


DEMO_SITES = [("mairie-centre", "Mairie — accueil central", 4, 60),
              ("france-services-nord", "France Services Nord", 4, 35),
              ("ccas-solidarites", "CCAS — solidarités", 3, 22),
              ("mairie-annexe-sud", "Mairie annexe Sud", 4, 3)]


def seed_history(db: Database, *, days: int = 35, seed: int = 7, org: str = "demo-ville") -> dict[str, int]:
    """A month of plausible answers on four sites (one too small to show), with follow-ups and flags."""
    rng = random.Random(seed)
    now = utc_now()
    stored = {}
    add_org(db, org, "Ville de Démo")
    for site_id, name, scale, per_day in DEMO_SITES:
        add_site(db, site_id, name, org=org, scale=scale)
        kiosk = f"{site_id}-borne-1"
        add_kiosk(db, kiosk, site_id)
        site = get_site(db, site_id)
        assert site is not None
        presses = []
        for back in range(days, -1, -1):
            day: date = (now - timedelta(days=back)).astimezone(site.zone).date()
            if day.weekday() == 6 and back:
                continue
            for _ in range(max(0, int(rng.gauss(per_day, per_day / 4)))):
                hour = rng.choice([8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 17])
                when = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=site.zone)
                if when.astimezone(UTC) > now:
                    continue
                lunch = 0.15 if hour in (11, 12) else 0.0  # the queue at lunchtime
                weights = {4: [0.08 + lunch, 0.14, 0.3, 0.48 - lunch], 3: [0.13 + lunch, 0.25, 0.62 - lunch]}[scale]
                rating = rng.choices(range(1, scale + 1), weights)[0]
                channel = rng.choice(["button", "button", "touch"])
                followup = None
                if channel == "touch" and rating <= 2 and rng.random() < 0.8:
                    choice = rng.choices(["wait", "answer", "welcome", "place"], [5, 3, 2, 1])[0]
                    followup = {"question": "why", "choice": choice}
                presses.append(Press(when, rating, channel, rng.random() < 0.05, followup))
        presses.sort(key=lambda p: p.when)
        store_presses(db, kiosk, site_id, presses)
        stored[site_id] = len(presses)
    return stored


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page (axe is injected, not served by the app)."""
    assert AXE.exists(), f"{AXE} is missing: `./dev test` installs axe-core from npm"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


_HASHES: dict[str, str] = {}


def quick_user(db: Database, login_name: str, role: str, scope: tuple[str, ...] = (),
               password: str = PASSWORD) -> int:
    """A user row like `add_user` writes, with the scrypt hash computed once per test session (it is slow)."""
    import json

    from werkzeug.security import generate_password_hash
    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(password, method="scrypt")
    return int(db.table("users").insert({
        "login": login_name, "password_hash": _HASHES[password], "role": role, "scope": json.dumps(list(scope)),
        "lang": None, "created": format_ts(utc_now()), "disabled": None}).last_pk or 0)


def open_page(browser: Any, width: int, height: int) -> Any:
    """A page in its own context. The app's Content-Security-Policy forbids eval and inline
    scripts; the tests' own probes (wait_for_function, axe-core) need them, so only they bypass it."""
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    return context.new_page()
