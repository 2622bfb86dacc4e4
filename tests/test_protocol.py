"""The wire contract module, from tables of valid and invalid messages."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ressenti.errors import BadAck, BadBatch, BadConfig, BadTopic
from ressenti.protocol import (
    MAX_BATCH_BYTES,
    MAX_BURST_PER_MINUTE,
    MAX_CONFIG_REV,
    MAX_SEQ,
    MAX_UP_MS,
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


# -- integer bounds (issue 17): every integer of the contract, below, at and above its bound ----

def _raw(value: object) -> str:
    """A JSON number or literal as a producer could write it (`1e400`, `true`, 2^63...)."""
    return value if isinstance(value, str) else json.dumps(value)


def batch_with(where: str, field: str, value: object) -> bytes:
    """A one-event batch whose batch or event `field` holds `value`, written verbatim."""
    body = json.loads(batch([event(1)]))
    (body if where == "batch" else body["events"][0])[field] = "__VALUE__"
    return json.dumps(body).encode().replace(b'"__VALUE__"', _raw(value).encode())


def _outcome(payload: bytes) -> str:
    """'ok', 'event' (the event rejected with a reason) or 'batch' (the batch refused)."""
    try:
        decoded = decode_batch(payload)
    except BadBatch:
        return "batch"
    return "ok" if decoded.events else "event"


BIG = [2**53, 2**63 - 1, 2**63, 2**64, 10**30, "1e400", "-1e400", "1.0", "true", "false", "null", '"7"']
INTEGER_BOUNDS = [
    # where, field, at the bounds (accepted), outside (refused), what a refusal costs
    ("event", "seq", [1, MAX_SEQ], [0, -1, -(2**63) - 1, *BIG], "event"),
    ("event", "up_ms", [0, MAX_UP_MS], [-1, MAX_UP_MS + 1, *BIG], "event"),
    ("event", "scale", [3, 5], [2, 6, -1, *BIG], "event"),
    ("event", "rating", [1, 4], [0, 5, -1, *BIG], "event"),
    ("batch", "up_ms", [0, MAX_UP_MS], [-1, MAX_UP_MS + 1, *BIG], "batch"),
    ("batch", "dropped_through", [0, MAX_SEQ], [-1, *[b for b in BIG if b != "null"]], "batch"),
    ("batch", "v", [1], [0, 2, *BIG], "batch"),
]


@pytest.mark.parametrize("where, field, value, expected", [
    pytest.param(where, field, value, expected, id=f"{where}.{field}={_raw(value)}")
    for where, field, good, bad, refusal in INTEGER_BOUNDS
    for value, expected in [*((g, "ok") for g in good), *((b, refusal) for b in bad)]
])
def test_integer_edges_are_decided_at_decode_never_at_store(where, field, value, expected):
    """A value SQLite cannot hold (past 2^63) or a float/bool in an integer field is refused
    while decoding, with its reason; a value at the bound is accepted."""
    assert _outcome(batch_with(where, field, value)) == expected


def test_a_refused_event_seq_past_the_bound_is_not_kept_as_its_seq():
    decoded = decode_batch(batch_with("event", "seq", 2**64))
    [bad] = decoded.rejected
    assert bad.seq is None and f"from 1 to {MAX_SEQ}" in bad.reason


def test_dropped_through_may_be_omitted():
    assert decode_batch(batch([event(1)])).dropped_through == 0


@pytest.mark.parametrize("through, ok", [(0, True), (MAX_SEQ, True), (-1, False), (MAX_SEQ + 1, False),
                                         (2**64, False), (1.0, False), (True, False)])
def test_ack_through_bounds(through, ok):
    payload = json.dumps({"v": 1, "epoch": "01JD6Q7V0S3H8W3B1S2M4N5P6Q", "through": through}).encode()
    if ok:
        assert decode_ack(payload).through == through
    else:
        with pytest.raises(BadAck):
            decode_ack(payload)


def test_ack_rejected_seq_bounds():
    body = {"v": 1, "epoch": "01JD6Q7V0S3H8W3B1S2M4N5P6Q", "through": 3,
            "rejected": [{"seq": 2**64, "reason": "x"}]}
    with pytest.raises(BadAck):
        decode_ack(json.dumps(body).encode())


@pytest.mark.parametrize("changes, ok", [
    ({"rev": 0}, True), ({"rev": MAX_CONFIG_REV}, True), ({"rev": MAX_CONFIG_REV + 1}, False),
    ({"rev": 2**64}, False), ({"rev": True}, False), ({"rev": 1.0}, False),
    ({"burst_per_minute": MAX_BURST_PER_MINUTE}, True), ({"burst_per_minute": MAX_BURST_PER_MINUTE + 1}, False),
    ({"burst_per_minute": 2**64}, False), ({"scale": True}, False), ({"scale": 4.0}, False),
])
def test_config_integer_bounds(changes, ok):
    if ok:
        decode_settings({"v": 1, **changes})
    else:
        with pytest.raises(BadConfig):
            decode_settings({"v": 1, **changes})


# -- UTF-8 only (issue 17) ----------------------------------------------------------------

GOOD_TEXT = batch([event(1)]).decode()


@pytest.mark.parametrize("payload, reason", [
    pytest.param(GOOD_TEXT.encode("utf-16"), "byte order mark", id="utf-16 with BOM"),
    pytest.param(GOOD_TEXT.encode("utf-16-le"), "NUL bytes", id="utf-16-le"),
    pytest.param(GOOD_TEXT.encode("utf-16-be"), "NUL bytes", id="utf-16-be"),
    pytest.param(GOOD_TEXT.encode("utf-32"), "byte order mark", id="utf-32 with BOM"),
    pytest.param(GOOD_TEXT.encode("utf-32-le"), "NUL bytes", id="utf-32-le"),
    pytest.param(GOOD_TEXT.encode("utf-32-be"), "NUL bytes", id="utf-32-be"),
    pytest.param(b"\xef\xbb\xbf" + GOOD_TEXT.encode(), "UTF-8 byte order mark", id="utf-8 BOM"),
    pytest.param(GOOD_TEXT.replace("pdc-mairie", "pdc-mairi\u00e9").encode("latin-1"), "invalid UTF-8",
                 id="latin-1"),
    pytest.param(GOOD_TEXT.encode().replace(b'"fr"', b'"\xc3\x28"'), "invalid UTF-8", id="bad sequence"),
    pytest.param(GOOD_TEXT.encode().replace(b'"fr"', b'"\xed\xa0\x80"'), "invalid UTF-8", id="encoded surrogate"),
    pytest.param(GOOD_TEXT.replace('"fr"', '"\\ud800"').encode(), "lone UTF-16 surrogate", id="escaped lone surrogate"),
    pytest.param(GOOD_TEXT.replace('"fr"', '"\\udc00x"').encode(), "lone UTF-16 surrogate", id="lone low surrogate"),
    pytest.param(GOOD_TEXT.replace('"up_ms": 5000', '"up_ms": NaN').encode(), "NaN", id="NaN"),
    pytest.param(GOOD_TEXT.replace('"up_ms": 5000', '"up_ms": Infinity').encode(), "Infinity", id="Infinity"),
])
def test_non_utf8_json_is_refused_with_its_reason_not_guessed(payload, reason):
    with pytest.raises(BadBatch, match=reason):
        decode_batch(payload)


def test_escaped_surrogate_pairs_and_non_ascii_utf8_stay_valid():
    body = GOOD_TEXT.replace('"kiosk": "pdc-accueil-1"', '"kiosk": "pdc-accueil-1", "note": "\\ud83d\\ude00 été"')
    assert decode_batch(body.encode()).events[0].seq == 1
