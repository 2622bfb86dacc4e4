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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from collector.db import connect
from collector.queries import site_summary
from collector.registry import get_site, list_sites
from ressenti.mqtt import BrokerAddress, make_client
from ressenti.protocol import LIVE_ROOT, live_topic

log = logging.getLogger(__name__)


class Subscriber:
    def __init__(self, sites: set[str] | None, maxsize: int = 256) -> None:
        self.sites = sites
        self.queue: queue.Queue[str | None] = queue.Queue(maxsize)

    def wants(self, site: str) -> bool:
        return self.sites is None or site in self.sites


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
        with self._lock:
            for sub in self._subscribers:
                sub.queue.put_nowait(None) if not sub.queue.full() else None

    # -- subscribers ----------------------------------------------------------

    def subscribe(self, sites: set[str] | None = None) -> Subscriber:
        sub = Subscriber(sites)
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def snapshot(self, sites: set[str] | None = None) -> dict[str, Any]:
        with self._db_lock:
            return {"sites": [site_summary(self.db, s) for s in list_sites(self.db)
                              if sites is None or s.id in sites]}

    # -- changes ----------------------------------------------------------------

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(message.payload)
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
            summary = site_summary(self.db, site)
        message = sse("update", {"site": summary, "pressed": ratings})
        self._deliver(lambda sub: sub.wants(site_id), message)

    def _deliver(self, wants: Callable[[Subscriber], bool], message: str) -> None:
        with self._lock:
            subscribers = [s for s in self._subscribers if wants(s)]
        for sub in subscribers:
            try:
                sub.queue.put_nowait(message)
            except queue.Full:
                # A stuck display is cut off; it reconnects and gets a fresh snapshot.
                self.unsubscribe(sub)


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
