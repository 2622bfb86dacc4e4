"""The wire contract module, from tables of valid and invalid messages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ressenti.errors import BadAck, BadBatch, BadConfig, BadTopic
from ressenti.protocol import (
    MAX_BATCH_BYTES,
    Ack,
    Kind,
    TimeSource,
    decode_ack,
    decode_batch,
    decode_settings,
    encode_ack,
    encode_batch,
    encode_settings,
    parse_followup,
    parse_topic,
    place_in_time,
    topic,
)

BOOT = "5f1c0a2e-0000-4000-8000-000000000001"
WHY = {
    "id": "why", "when_rating_at_most": 2, "timeout_s": 15,
    "question": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
    "choices": [{"id": "wait", "fr": "Temps d'attente", "en": "Waiting time"},
                {"id": "unclear", "fr": "Information peu claire"},
                {"id": "other", "fr": "Autre", "en": "Other"}],
}


def event(n: int = 1, **changes) -> dict:
    base = {
        "id": str(uuid.UUID(int=n)), "seq": n, "ts": "2026-11-22T09:14:03.120Z",
        "clock": "ntp", "boot": BOOT, "up_ms": 1000 + n, "question": "overall",
        "scale": 4, "rating": 3, "input": "button", "flags": [], "followup": None, "lang": "fr",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def batch(items: list, **changes) -> bytes:
    body = {"v": 1, "kiosk": "pdc-accueil-1", "site": "pdc-mairie",
            "epoch": "01JD6Q7V0S3H8W3B1S2M4N5P6Q", "boot": BOOT, "up_ms": 5000, "events": items}
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize("site, kiosk, kind, expected", [
    ("pdc-mairie", "pdc-accueil-1", Kind.EVENTS, "ressenti/v1/pdc-mairie/pdc-accueil-1/events"),
    ("a", "b", Kind.ACK, "ressenti/v1/a/b/ack"),
    ("s1", "k-9", Kind.STATUS, "ressenti/v1/s1/k-9/status"),
    ("s1", "k-9", Kind.CONFIG, "ressenti/v1/s1/k-9/config"),
])
def test_topics_round_trip(site, kiosk, kind, expected):
    assert topic(site, kiosk, kind) == expected
    parts = parse_topic(expected)
    assert (parts.site, parts.kiosk, parts.kind) == (site, kiosk, kind)


@pytest.mark.parametrize("name", [
    "ressenti/v2/s/k/events", "ressenti/v1/s/k", "ressenti/v1/S/k/events", "ressenti/v1/s/k/other",
    "ressenti/v1/-s/k/events", "ressenti/v1/s/k/events/extra", "ressenti/v1/_live/s", "",
])
def test_bad_topics_are_refused(name):
    with pytest.raises(BadTopic):
        parse_topic(name)


def test_topic_refuses_non_slug():
    with pytest.raises(BadTopic):
        topic("Mairie", "k", Kind.EVENTS)


def test_valid_batch_decodes():
    decoded = decode_batch(batch([event(1), event(2, rating=4, flags=["rapid_repeat"],
                                                     followup={"question": "why", "choice": "wait"})]))
    assert [e.seq for e in decoded.events] == [1, 2]
    assert decoded.rejected == []
    assert decoded.events[1].flags == ("rapid_repeat",)
    assert decoded.events[0].ts == datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC)


@pytest.mark.parametrize("payload, reason", [
    (b"{not json", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[]", "not a JSON object"),
    (batch([], v=2), "version"),
    (batch([], kiosk="Bad Kiosk"), "kiosk"),
    (batch([], site=7), "site"),
    (batch([], epoch="x"), "epoch"),
    (batch([], up_ms=-1), "up_ms"),
    (batch([], events={}), "events"),
    (batch([event(i) for i in range(1, 502)]), "over the 500 limit"),
    (batch([event(2), event(1)]), "ascending"),
    (batch([event(1), event(1)]), "ascending"),
    (b" " * (MAX_BATCH_BYTES + 1), "over the"),
])
def test_unusable_batches(payload, reason):
    with pytest.raises(BadBatch, match=reason):
        decode_batch(payload)


@pytest.mark.parametrize("changes, reason", [
    ({"id": "not-a-uuid"}, "UUID"),
    ({"id": ...}, "missing 'id'"),
    ({"seq": 0}, "seq"),
    ({"seq": "3"}, "seq"),
    ({"ts": "2026-11-22T09:14:03"}, "time zone"),
    ({"ts": "yesterday"}, "Invalid isoformat"),
    ({"clock": "gps"}, "clock"),
    ({"scale": 7}, "scale"),
    ({"rating": 9}, "rating 9 outside scale 4"),
    ({"rating": 0}, "outside scale"),
    ({"rating": True}, "rating"),
    ({"rating": 2.5}, "rating"),
    ({"input": "fax"}, "input"),
    ({"flags": "burst"}, "flags"),
    ({"followup": {"question": "why", "choice": "<script>"}}, "followup"),
    ({"lang": "français"}, "lang"),
    ({"question": "Overall!"}, "question"),
])
def test_bad_events_are_rejected_one_by_one(changes, reason):
    decoded = decode_batch(batch([event(1), event(2, **changes), event(3)]))
    assert [e.seq for e in decoded.events] == [1, 3]
    [bad] = decoded.rejected
    assert reason in bad.reason
    if isinstance(changes.get("seq", 2), int) and changes.get("seq", 2) >= 1:
        assert bad.seq == 2


def test_encode_batch_round_trips():
    payload = encode_batch(kiosk="k1", site="s1", epoch="01JD6Q7V0S3H8W3B1S2M4N5P6Q",
                           boot=BOOT, up_ms=9, events=[event(1)], dropped_through=0)
    assert decode_batch(payload).events[0].seq == 1
    assert "dropped_through" not in json.loads(payload)
    with_drop = encode_batch(kiosk="k1", site="s1", epoch="01JD6Q7V0S3H8W3B1S2M4N5P6Q",
                             boot=BOOT, up_ms=9, events=[], dropped_through=12)
    assert decode_batch(with_drop).dropped_through == 12


def test_ack_round_trip():
    ack = Ack("01JD6Q7V0S3H8W3B1S2M4N5P6Q", 57, ((12, "rating 9 outside scale 4"),))
    assert decode_ack(encode_ack(ack)) == ack


@pytest.mark.parametrize("payload", [b"", b"{}", b'{"v":1,"epoch":"01JD6Q7V0S","through":-1}',
                                     b'{"v":1,"through":3}', b"[1]", b"[" * 200_000])
def test_bad_acks(payload):
    with pytest.raises(BadAck):
        decode_ack(payload)


@pytest.mark.parametrize("body, message", [
    ({"rev": -1}, "rev"), ({"scale": 6}, "scale"), ({"response_interval_s": "4"}, "response_interval_s"),
    ({"languages": []}, "languages"), ({"question": "hello"}, "question"), ({"v": 2}, "v"),
    ({"question_id": "Q 1"}, "question_id"),
    # The follow-up is part of the config: what a touch kiosk would refuse, the contract refuses.
    ({"followup": "why"}, "config followup must be an object or null"),
    ({"followup": {**WHY, "timout_s": 10}}, r"config followup has unknown keys \['timout_s'\]"),
    ({"followup": {**WHY, "id": "Why?"}}, "config followup id 'Why\\?' must be a slug"),
    ({"scale": 3, "followup": {**WHY, "when_rating_at_most": 3}}, "from 1 to 2"),
    ({"followup": {**WHY, "choices": WHY["choices"][:2]}}, "3 to 6 choices"),
    ({"followup": {**WHY, "question": {"en": "Why?"}}}, "needs a French text"),
    ({"followup": {**WHY, "timeout_s": 600}}, "3 to 120 seconds"),
])
def test_bad_settings(body, message):
    with pytest.raises(BadConfig, match=message):
        decode_settings(body)


@pytest.mark.parametrize("followup", [None, WHY, {**WHY, "timeout_s": 3, "when_rating_at_most": 1}])
def test_good_followups_pass_and_round_trip(followup):
    settings = decode_settings({"rev": 2, "scale": 4, "followup": followup})
    assert settings.followup == followup
    assert decode_settings(json.loads(encode_settings(settings))) == settings
    parsed = parse_followup(settings.followup, settings.scale)
    assert (parsed.id if parsed else None) == (followup["id"] if followup else None)


def test_settings_defaults():
    settings = decode_settings({"rev": 3, "scale": 5})
    assert (settings.rev, settings.scale, settings.response_interval_s) == (3, 5, 4.0)
    assert settings.question["fr"].startswith("Comment")


RECEIVED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("changes, batch_changes, expected_ts, source", [
    # A trusted clock is kept.
    ({"clock": "ntp"}, {}, datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC), TimeSource.KIOSK),
    ({"clock": "rtc"}, {}, datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC), TimeSource.KIOSK),
    # Unsynced, same boot: receive time minus the monotonic distance.
    ({"clock": "unsynced", "ts": "2020-01-01T00:00:00Z", "up_ms": 1000}, {"up_ms": 61000},
     RECEIVED - timedelta(seconds=60), TimeSource.CORRECTED),
    # A trusted clock in 2099 is not believed either; corrected when possible.
    ({"clock": "ntp", "ts": "2099-01-01T00:00:00Z", "up_ms": 1000}, {"up_ms": 3000},
     RECEIVED - timedelta(seconds=2), TimeSource.CORRECTED),
    # Another boot, implausible: counted at receive time.
    ({"clock": "unsynced", "ts": "2099-01-01T00:00:00Z", "boot": "other-boot"}, {},
     RECEIVED, TimeSource.RECEIVED),
    # Another boot, plausible: kept, but marked unsynced.
    ({"clock": "unsynced", "boot": "other-boot"}, {},
     datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC), TimeSource.UNSYNCED),
])
def test_place_in_time(changes, batch_changes, expected_ts, source):
    decoded = decode_batch(batch([event(1, **changes)], **batch_changes))
    assert place_in_time(decoded.events[0], decoded, RECEIVED) == (expected_ts, source)
