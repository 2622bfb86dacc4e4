"""The msgspec fast path of decode_batch agrees with the reference checks, on valid and mutated batches.

The reference (`decode_batch_reference`) is the contract, covered rule by rule
in tests/test_protocol.py and tests/test_security_ingest.py. Here a corpus of
realistic batches and thousands of seeded mutations of them (a field replaced by
a value at or past a bound, a key removed or added or repeated, bytes flipped,
encodings changed) go through both paths: whenever the fast path answers, its
batch is the reference's, field by field and type by type; whatever the fast
path declines, decode_batch answers as the reference (same batch, or same error
class and message).
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ressenti.batch_decoder import decode_fast
from ressenti.errors import BadBatch
from ressenti.protocol import MAX_EVENTS_PER_BATCH, MAX_SEQ, MAX_UP_MS, decode_batch, decode_batch_reference

BOOT = "5f1c0a2e-0000-4000-8000-000000000001"
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def valid_body(rng: random.Random, size: int) -> dict:
    events = []
    for seq in range(1, size + 1):
        moment = START + timedelta(milliseconds=rng.randrange(10**9))
        events.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "seq": seq,
            "ts": moment.isoformat(timespec="milliseconds")[:-6] + "Z",
            "clock": rng.choice(["ntp", "rtc", "unsynced"]), "boot": rng.choice([BOOT, "other-boot"]),
            "up_ms": rng.randrange(MAX_UP_MS), "question": rng.choice(["overall", "accueil-2"]),
            "scale": 5, "rating": rng.randint(1, 5), "input": rng.choice(["button", "touch", "web", "phone"]),
            "flags": rng.choice([[], ["rapid_repeat"], ["burst", "rapid_repeat", "burst"]]),
            "followup": rng.choice([None, {"question": "why", "choice": "wait"}]), "lang": rng.choice(["fr", "en"]),
        })
        for optional in ("flags", "followup", "lang"):
            if rng.random() < 0.1:
                del events[-1][optional]
    body = {"v": 1, "kiosk": "pdc-accueil-1", "site": "pdc-mairie", "epoch": "01JD6Q7V0S3H8W3B1S2M4N5P6Q",
            "boot": BOOT, "up_ms": MAX_UP_MS, "events": events}
    if rng.random() < 0.3:
        body["dropped_through"] = rng.choice([0, 1, MAX_SEQ])
    return body


# Values at and past every bound and type rule of the contract.
TRICKY = [
    None, True, False, 0, 1, -1, 2, 3, 4, 5, 6, 1.0, 4.0, 1.5, 1e400, -0.0, MAX_SEQ, MAX_SEQ + 1, MAX_UP_MS,
    MAX_UP_MS + 1, 2**63, 2**64, -(2**63) - 1, 10**30, "", "1", "overall", "overall\n", "Overall", "-x", "a" * 63,
    "a" * 64, "ntp", "NTP", "button", "fr", "fr\n", "FR", "français", "rapid_repeat", "Rapid", "b" * 32,
    "2026-11-22T09:14:03.120Z", "2026-11-22T09:14:03Z", "2026-11-22T09:14:03.120+01:00", "2026-11-22T09:14:03.120",
    "2026-02-30T09:14:03.120Z", "2026-W47-1T09:14:03.120Z", "٢٠٢٦-11-22T09:14:03.120Z", "2026-11-22t09:14:03.120z",
    "2099-06-01T10:00:00.000Z", "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z",
    "2026-11-22T09:14:03.120Z\n", "00000000-0000-4000-8000-00000000000A", "000000000000400080000000000000aa",
    "{00000000-0000-4000-8000-0000000000aa}", "00000000-0000-4000-8000-0000000000aa\n", "not-a-uuid",
    "01JD6Q7V0S3H8W3B1S2M4N5P6Q", "--------", "éééééééé", "short", "x" * 65, [], [1], ["burst"] * 9,
    ["rapid_repeat", "x"], [None], ["BURST"], {}, {"question": "why"}, {"question": "why", "choice": "Wait"},
    {"question": "why", "choice": "wait", "extra": 1}, {"choice": "wait", "question": "why"},
]
BATCH_KEYS = ["v", "kiosk", "site", "epoch", "boot", "up_ms", "events", "dropped_through", "extra"]
EVENT_KEYS = ["id", "seq", "ts", "clock", "boot", "up_ms", "question", "scale", "rating", "input", "flags",
              "followup", "lang", "extra"]


def mutate_body(rng: random.Random, body: dict) -> dict:
    body = json.loads(json.dumps(body))
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        events = body.get("events")
        on_event = isinstance(events, list) and events and rng.random() < 0.75
        target = rng.choice(events) if on_event else body
        if not isinstance(target, dict):
            continue
        key = rng.choice(EVENT_KEYS if on_event else BATCH_KEYS)
        action = rng.random()
        if action < 0.15:
            target.pop(key, None)
        elif action < 0.25 and on_event and len(events) > 1:
            i = rng.randrange(len(events) - 1)
            events[i], events[i + 1] = events[i + 1], events[i]
        elif action < 0.3 and on_event:
            events.append(rng.choice(TRICKY))
        else:
            target[key] = rng.choice(TRICKY)
    return body


def encode(rng: random.Random, body: dict) -> bytes:
    text = json.dumps(body, ensure_ascii=rng.random() < 0.7, separators=rng.choice([(",", ":"), (", ", ": ")]))
    return text.encode()


def mutate_bytes(rng: random.Random, payload: bytes) -> bytes:
    choice = rng.randrange(9)
    at = rng.randrange(len(payload))
    if choice == 0:
        return payload[:at] + bytes([rng.randrange(256)]) + payload[at + 1:]
    if choice == 1:
        return payload[:at] + payload[at + 1:]
    if choice == 2:
        return payload[:at] + rng.choice([b"\x00", b"\xff", b"\xc3", b"\\", b'"', b",", b"]", b"}"]) + payload[at:]
    if choice == 3:
        return rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b" \n\t\r", b"\x0c"]) + payload
    if choice == 4:
        return payload + rng.choice([b" ", b"x", b"{}", b"\n"])
    if choice == 5:  # a key given twice: json.loads keeps the last one
        key = rng.choice(["seq", "rating", "flags", "v", "boot", "lang"]).encode()
        value = rng.choice([b"1", b'"x"', b"null", b"[]", b"2", b"4.0"])
        return payload.replace(b'"%s":' % key, b'"%s":%s,"%s":' % (key, value, key), 1)
    if choice == 6:  # escapes: a plain letter, a pair, a lone surrogate
        escape = rng.choice([b"\\u0061", b"\\ud83d\\ude00", b"\\ud800", b"\\u00e9", b"\\n"])
        return payload.replace(b'"overall"', b'"over%sall"' % escape, 1).replace(b'"fr"', b'"f%s"' % escape, 1)
    if choice == 7:
        return payload.replace(b'"ntp"', b'"\\u006etp"', 1)
    return payload.decode().encode(rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1"]), errors="replace")


def outcome(decode, payload: bytes):
    """Everything a caller can see of a decode: every field with its type, or the error."""
    try:
        batch = decode(payload)
    except BadBatch as exc:
        return ("error", type(exc).__name__, str(exc))
    events = [tuple((name, type(value).__name__, value) for name, value in (
        (f, getattr(e, f)) for f in ("id", "seq", "ts", "clock", "boot", "up_ms", "question", "scale", "rating",
                                     "input", "flags", "followup", "lang", "ts_text"))) + ((e.ts.tzinfo,),)
              for e in batch.events]
    rejected = [(r.seq, r.reason, r.raw) for r in batch.rejected]
    return ("batch", batch.kiosk, batch.site, batch.epoch, batch.boot, batch.up_ms, batch.dropped_through,
            events, rejected)


def corpus(seed: int, count: int):
    rng = random.Random(seed)
    for _ in range(count):
        body = valid_body(rng, rng.choice([1, 1, 2, 5, 10]))
        kind = rng.random()
        if kind < 0.15:
            yield "valid", encode(rng, body)
        elif kind < 0.75:
            yield "field", encode(rng, mutate_body(rng, body))
        else:
            yield "bytes", mutate_bytes(rng, encode(rng, body))


@pytest.mark.parametrize("seed", range(4))
def test_both_paths_agree_on_valid_and_mutated_batches(seed):
    taken = {"fast": 0, "reference": 0, "rejected by the reference": 0}
    for what, payload in corpus(seed, 2500):
        expected = outcome(decode_batch_reference, payload)
        assert outcome(decode_batch, payload) == expected, (what, payload[:400])
        fast = decode_fast(payload)
        if fast is not None:
            taken["fast"] += 1
            assert outcome(lambda _, fast=fast: fast, payload) == expected, (what, payload[:400])
            assert expected[0] == "batch" and not expected[-1], "the fast path took a batch with a bad event"
        else:
            taken["reference"] += 1
            if expected[0] == "error" or expected[-1]:
                taken["rejected by the reference"] += 1
    # The corpus exercises both paths, and most mutations break the contract.
    assert taken["fast"] > 400 and taken["rejected by the reference"] > 1000, taken


def test_what_kiosks_send_takes_the_fast_path():
    rng = random.Random(7)
    for size in (1, 10, MAX_EVENTS_PER_BATCH):
        payload = json.dumps(valid_body(rng, size), separators=(",", ":")).encode()
        fast = decode_fast(payload)
        assert fast is not None and len(fast.events) == size
        assert outcome(lambda _, fast=fast: fast, payload) == outcome(decode_batch_reference, payload)


@pytest.mark.parametrize("change, reason", [
    ({"seq": MAX_SEQ + 1}, f"seq {MAX_SEQ + 1} is not an integer from 1 to {MAX_SEQ}"),
    ({"rating": 5, "scale": 4}, "rating 5 outside scale 4"),
    ({"ts": "2026-02-30T09:14:03.120Z"}, "day is out of range for month"),
    ({"lang": "fr\n", "question": "Overall"}, "question 'Overall' is not a slug"),
])
def test_one_bad_event_is_rejected_with_the_reference_reason_and_the_rest_kept(change, reason):
    body = valid_body(random.Random(1), 3)
    body["events"][1].update(change)
    payload = json.dumps(body).encode()
    assert decode_fast(payload) is None
    batch = decode_batch(payload)
    assert [e.seq for e in batch.events] == [1, 3]
    assert [(r.seq, r.reason) for r in batch.rejected] == [(None if "seq" in change else 2, reason)]
