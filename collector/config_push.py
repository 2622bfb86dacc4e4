"""Kiosk settings pushed by the collector: one retained config message per kiosk, with a new rev.

The kiosk applies a config whose rev is above its own and reports the rev it
runs in its status heartbeat; the fleet page compares that with the rev kept
here, so an admin sees which kiosks have applied a change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
from sqlite_utils import Database

from ressenti.errors import BadConfig, RessentiError
from ressenti.protocol import (
    FOLLOWUP_LABEL_CHARS,
    FOLLOWUP_MAX_CHOICES,
    FOLLOWUP_MIN_CHOICES,
    Kind,
    KioskSettings,
    decode_settings,
    encode_settings,
    format_ts,
    is_slug,
    topic,
    utc_now,
)

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0
# A starting point for the follow-up form: the reasons French services hear most.
DEFAULT_FOLLOWUP: dict[str, Any] = {
    "id": "why", "when_rating_at_most": 2, "timeout_s": 15,
    "question": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
    "choices": [
        {"id": "wait", "fr": "Temps d'attente", "en": "Waiting time"},
        {"id": "answer", "fr": "Réponse apportée", "en": "The answer I got"},
        {"id": "welcome", "fr": "Qualité de l'accueil", "en": "How I was welcomed"},
        {"id": "place", "fr": "Locaux, confidentialité", "en": "Premises, privacy"},
    ],
}


class PushError(RessentiError, RuntimeError):
    """A config could not be pushed; the message says why."""


def build_followup(*, question_fr: str, question_en: str, when_rating_at_most: int, scale: int,
                   choices: list[tuple[str, str, str]], timeout_s: float = 15) -> dict[str, Any]:
    """A follow-up object in the touch kiosks' format (ressenti.protocol.parse_followup), from the form."""
    if not question_fr.strip():
        raise BadConfig("the follow-up question needs a French text")
    if not 1 <= when_rating_at_most < scale:
        raise BadConfig(f"ask the follow-up for ratings 1 to {scale - 1} at most")
    if not FOLLOWUP_MIN_CHOICES <= len(choices) <= FOLLOWUP_MAX_CHOICES:
        raise BadConfig(f"a follow-up has {FOLLOWUP_MIN_CHOICES} to {FOLLOWUP_MAX_CHOICES} choices")
    if not 3 <= timeout_s <= 120:
        raise BadConfig("the follow-up timeout is 3 to 120 seconds")
    out = []
    for choice_id, fr, en in choices:
        if not is_slug(choice_id):
            raise BadConfig(f"choice id {choice_id!r} must be lower-case letters, digits and '-'")
        if not fr.strip():
            raise BadConfig(f"choice {choice_id!r} needs a French label")
        if max(len(fr), len(en)) > FOLLOWUP_LABEL_CHARS:
            raise BadConfig(f"choice {choice_id!r}: keep labels to {FOLLOWUP_LABEL_CHARS} characters")
        out.append({"id": choice_id, "fr": fr.strip(), **({"en": en.strip()} if en.strip() else {})})
    if len({c["id"] for c in out}) != len(out):
        raise BadConfig("choice ids must be unique")
    question = {"fr": question_fr.strip(), **({"en": question_en.strip()} if question_en.strip() else {})}
    return {"id": "why", "when_rating_at_most": when_rating_at_most, "question": question,
            "choices": out, "timeout_s": timeout_s}


def pushed(db: Database) -> dict[str, dict[str, Any]]:
    """kiosk -> {rev, settings, pushed_at, pushed_by} of the last push."""
    return {r["kiosk"]: {**r, "settings": json.loads(r["settings"])}
            for r in db.query("SELECT * FROM kiosk_config")}


def followup_labels(db: Database, site_ids: Iterable[str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(question, choice) -> (fr, en) from the configs pushed to these sites, then the defaults."""
    labels = {(DEFAULT_FOLLOWUP["id"], c["id"]): (c["fr"], c.get("en", c["fr"]))
              for c in DEFAULT_FOLLOWUP["choices"]}
    wanted = set(site_ids)
    for row in pushed(db).values():
        followup = row["settings"].get("followup")
        if row["site"] in wanted and isinstance(followup, dict):
            for c in followup.get("choices", []):
                labels[(followup.get("id", "why"), c["id"])] = (c["fr"], c.get("en") or c["fr"])
    return labels


def current_settings(db: Database, kiosk: str) -> KioskSettings | None:
    rows = list(db.query("SELECT settings FROM kiosk_config WHERE kiosk = ?", [kiosk]))
    return decode_settings(json.loads(rows[0]["settings"])) if rows else None


def next_rev(db: Database, kiosk: str) -> int:
    """Above both the rev pushed last and the rev the kiosk says it runs."""
    row = db.conn.execute(
        "SELECT MAX(COALESCE((SELECT rev FROM kiosk_config WHERE kiosk = ?), 0),"
        " COALESCE((SELECT config_rev FROM kiosk_status WHERE kiosk = ?), 0))", (kiosk, kiosk)).fetchone()
    return int(row[0]) + 1


def push_settings(db: Database, client: mqtt.Client | None, kiosks: list[tuple[str, str]],
                  settings: KioskSettings, pushed_by: str) -> dict[str, int]:
    """Publish `settings` retained (QoS 1) to each (kiosk, site) with its next rev; return the revs."""
    # The kiosks' own validation (follow-up included), before anything leaves:
    # a config they would refuse is never pushed.
    decode_settings(settings.to_wire())
    if client is None:
        raise PushError("this web process has no broker (set RESSENTI_BROKER_URL): nothing was pushed")
    if not client.is_connected():
        raise PushError("the broker is not reachable right now: nothing was pushed; try again")
    revs = {}
    for kiosk, site in kiosks:
        rev = next_rev(db, kiosk)
        message = replace(settings, rev=rev)
        info = client.publish(topic(site, kiosk, Kind.CONFIG), encode_settings(message), qos=1, retain=True)
        try:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
        except (RuntimeError, ValueError) as exc:
            raise PushError(f"kiosk {kiosk}: the broker did not take the config ({exc})") from exc
        if not info.is_published():
            # paho keeps it queued and sends it on reconnect: record it, but say so.
            log.warning("config rev %d for %s not confirmed by the broker yet", rev, kiosk)
        db.table("kiosk_config").upsert({
            "kiosk": kiosk, "site": site, "rev": rev, "settings": json.dumps(message.to_wire()),
            "pushed_at": format_ts(utc_now()), "pushed_by": pushed_by,
        }, pk="kiosk")
        revs[kiosk] = rev
    return revs
