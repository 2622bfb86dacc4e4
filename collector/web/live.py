"""Fans site changes out to connected wall displays (Server-Sent Events).

Ingest publishes "site X changed" on the bus; this hub reads the site's
figures once from the rollups and hands the same absolute figures to every
display watching X. Absolute figures, not increments: a display that missed
updates is right again at the next one.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlite_utils import Database

from collector.alerts.rules import FLEET_KINDS, Kind
from collector.db import connect
from collector.fleet import fleet
from collector.queries import channel_counts, site_summary
from collector.registry import Site, get_site, list_sites
from collector.reports import trend, trend_reference
from ressenti.mqtt import BrokerAddress, make_client
from ressenti.protocol import LIVE_ROOT, format_ts, live_topic, parse_json, utc_now

log = logging.getLogger(__name__)

REVOKED = "\x00revoked"  # queued to a display whose token was just revoked
FIGURES_TTL_S = 15.0  # snapshots reuse a site's figures this long (a reconnect storm costs little)
REFERENCE_TTL_S = 300.0  # the trend's reference (past weeks) barely moves
TOKEN_TTL_S = 1.0


class Subscriber:
    def __init__(self, sites: set[str] | None, token_id: int | None = None, maxsize: int = 256) -> None:
        self.sites = sites
        self.token_id = token_id
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize)
        self.closed = threading.Event()  # set when the hub cut this display off

    def wants(self, site: str) -> bool:
        return self.sites is None or site in self.sites


def site_figures(db: Database, site: Site, reference: dict[str, Any]) -> dict[str, Any]:
    """What a wall shows for a site: today's summary, its channels, trend, kiosks online, last answer."""
    figures = site_summary(db, site)
    figures["trend"] = trend(figures["satisfaction"], reference)
    figures["channels"] = channel_counts(db, site)  # today's answers per channel (kiosk, web, phone...)
    # A wall is seen by the public: kiosks by their label, or by their place in the list ("borne 2"),
    # never by their raw id (a kiosk added without a name has its id as name).
    kiosks = [k for k in fleet(db, site.id, with_gaps=False) if not k["retired"]]
    figures["kiosks"] = [{"n": n, "label": k["name"] if k["name"] and k["name"] != k["kiosk"] else None,
                          "online": k["online"]} for n, k in enumerate(kiosks, 1)]
    figures["alerts"] = fleet_alerts(db, site.id, {k["kiosk"]: n for n, k in enumerate(kiosks, 1)})
    # One index lookup on events (site, ts): the time of the latest answer, not a figure.
    figures["last_answer"] = db.conn.execute("SELECT MAX(ts) FROM events WHERE site = ?", (site.id,)).fetchone()[0]
    figures["computed"] = format_ts(utc_now())
    return figures


def fleet_alerts(db: Database, site_id: str, places: dict[str, int]) -> list[dict[str, Any]]:
    """The site's open fleet alerts for its wall: kind, the kiosk's place in `figures["kiosks"]` (never its
    id: the wall words them, docs/alerts.md) and since when (a kiosk offline: since it was last heard of)."""
    out = []
    for kind, kiosk, opened_at, figures in db.conn.execute(
            "SELECT kind, kiosk, opened_at, figures FROM alerts WHERE state = 'open' AND site = ?"
            " AND kiosk IS NOT NULL ORDER BY opened_at, id", (site_id,)):
        if kind not in FLEET_KINDS or kiosk not in places:
            continue
        since = json.loads(figures).get("offline_since") if kind == Kind.KIOSK_OFFLINE else None
        out.append({"kind": kind, "n": places[kiosk], "since": since if isinstance(since, str) else opened_at})
    return out


class LiveHub:
    def __init__(self, db_path: str | Path, broker: BrokerAddress | None) -> None:
        self.db = connect(db_path)
        self._db_lock = threading.Lock()
        self.broker = broker
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._pending: dict[str, list[int]] = {}
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, name="live-hub", daemon=True)
        self._figures: dict[str, tuple[float, dict[str, Any]]] = {}
        self._references: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._tokens: dict[int, tuple[float, bool]] = {}
        self.client: mqtt.Client | None = None

    def start(self) -> None:
        self._worker.start()
        if self.broker is None:
            return
        self.client = make_client(f"ressenti-web-{id(self):x}", self.broker, clean_session=True)
        self.client.on_connect = lambda c, *_: c.subscribe(f"{LIVE_ROOT}/+", qos=0)
        self.client.on_message = self._on_message
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify()
        if self.client:
            self.client.disconnect()
            self.client.loop_stop()
        self.disconnect_all()

    def disconnect_all(self) -> None:
        """End every open stream (their displays reconnect and get a fresh snapshot)."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            self._offer(sub, None)

    # -- subscribers ----------------------------------------------------------

    def subscribe(self, sites: set[str] | None = None, token_id: int | None = None) -> Subscriber:
        sub = Subscriber(sites, token_id)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    @contextmanager
    def database(self) -> Iterator[Database]:
        """The hub's connection, for a stream's fresh reads (autocommit: each read sees the latest commit)."""
        with self._db_lock:
            yield self.db

    def wall_sites(self, subject: str) -> list[Site]:
        from collector.walls import wall_sites
        with self._db_lock:
            return wall_sites(self.db, subject)

    def snapshot(self, sites: set[str] | None = None) -> dict[str, Any]:
        now = time.monotonic()
        with self._db_lock:
            out = []
            for site in list_sites(self.db):
                if sites is not None and site.id not in sites:
                    continue
                cached = self._figures.get(site.id)
                out.append(cached[1] if cached and now - cached[0] < FIGURES_TTL_S else self._compute(site))
        return {"sites": out}

    def _compute(self, site: Site) -> dict[str, Any]:
        """A site's figures (the caller holds the db lock)."""
        now = utc_now()
        key = (site.id, now.astimezone(site.zone).strftime("%Y-%m-%dT%H"))
        cached = self._references.get(key)
        if cached is None or time.monotonic() - cached[0] > REFERENCE_TTL_S:
            cached = (time.monotonic(), trend_reference(self.db, site, now))
            if len(self._references) > 10_000:  # an hour's keys for many sites; drop the old ones
                self._references = {k: v for k, v in self._references.items() if v[0] > cached[0] - 7200}
            self._references[key] = cached
        figures = site_figures(self.db, site, cached[1])
        self._figures[site.id] = (time.monotonic(), figures)
        return figures

    # -- tokens -----------------------------------------------------------------

    def token_active(self, token_id: int) -> bool:
        """Is this wall token still valid? Read at most once a second per token, for every stream."""
        now = time.monotonic()
        cached = self._tokens.get(token_id)
        if cached and now - cached[0] < TOKEN_TTL_S:
            return cached[1]
        with self._db_lock:
            row = self.db.conn.execute("SELECT revoked FROM tokens WHERE id = ?", (token_id,)).fetchone()
        active = row is not None and row[0] is None
        self._tokens[token_id] = (now, active)
        return active

    def token_revoked(self, token_id: int) -> None:
        """Revoked in this process: end its streams now (other processes notice within a second or two)."""
        self._tokens[token_id] = (time.monotonic(), False)
        with self._lock:
            subscribers = [s for s in self._subscribers if s.token_id == token_id]
        for sub in subscribers:
            self._offer(sub, REVOKED)

    # -- changes ----------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = parse_json(message.payload)
            self.site_changed(str(body["site"]), [int(r) for r in body.get("ratings", [])])
        except (ValueError, KeyError, TypeError) as exc:
            log.error("ignoring live message on %s: %s", message.topic, exc)

    def announce(self, site: str, ratings: list[int]) -> None:
        """Tell every web process (through the bus) that a site changed; locally without a bus."""
        if self.client is not None:
            self.client.publish(live_topic(site), json.dumps({"site": site, "ratings": ratings}), qos=0)
        else:
            self.site_changed(site, ratings)

    def site_changed(self, site: str, ratings: list[int]) -> None:
        with self._changed:
            self._pending.setdefault(site, []).extend(ratings)
            self._changed.notify()

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._stop.is_set(), timeout=1)
                pending, self._pending = self._pending, {}
            for site_id, ratings in pending.items():
                try:
                    self._broadcast(site_id, ratings)
                except Exception:
                    log.exception("live update for %s failed", site_id)

    def _broadcast(self, site_id: str, ratings: list[int]) -> None:
        with self._db_lock:
            site = get_site(self.db, site_id)
            if site is None:
                return
            figures = self._compute(site)
        message = sse("update", {"site": figures, "pressed": ratings})
        self._deliver(lambda sub: sub.wants(site_id), message)

    def _deliver(self, wants: Callable[[Subscriber], bool], message: str) -> None:
        with self._lock:
            subscribers = [s for s in self._subscribers if wants(s)]
        for sub in subscribers:
            self._offer(sub, message)

    def _offer(self, sub: Subscriber, message: str | None) -> None:
        try:
            sub.queue.put_nowait(message)
        except queue.Full:
            # A stuck display is cut off; it reconnects and gets a fresh snapshot.
            sub.closed.set()
            self.unsubscribe(sub)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
