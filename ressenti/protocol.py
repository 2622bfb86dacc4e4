"""Wire contract v1: topics and payloads shared by kiosks and the collector.

Pure functions only (no network, no database), so both sides and the tests can
use them. The human-readable contract is docs/protocol.md; keep both in step.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from ressenti.errors import BadAck, BadBatch, BadConfig, BadEvent, BadFollowup, BadTopic, BatchTooLarge, NotJSON
from ressenti.i18n import LANGUAGES, WORDINGS

VERSION = 1
ROOT = f"ressenti/v{VERSION}"
MAX_EVENTS_PER_BATCH = 500
MAX_BATCH_BYTES = 256 * 1024
SCALES = (3, 4, 5)

# Every integer of the contract has a bound, checked at decode (docs/protocol.md
# "Integer bounds"): SQLite stores signed 64-bit integers, and a value past that
# made the store fail after the batch was read. 2^53 - 1 is also the largest
# integer a JavaScript producer writes exactly.
MAX_SEQ = 2**53 - 1
# Milliseconds since boot: ten years of uptime. Larger gaps between two stamps
# would place an event before year 1 (datetime overflows).
MAX_UP_MS = 10 * 366 * 86_400_000
MAX_CONFIG_REV = 2**53 - 1
MAX_BURST_PER_MINUTE = 10_000

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_FLAG_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")
_BOOT_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
# What kiosks send: checked by a regex, several times faster than uuid.UUID,
# which stays the path for other spellings (upper case, no dashes...).
_CANONICAL_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CANONICAL_TS_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Kind(StrEnum):
    """The last level of a kiosk topic."""

    EVENTS = "events"
    ACK = "ack"
    STATUS = "status"
    CONFIG = "config"


class Clock(StrEnum):
    """How far the kiosk trusted its wall clock when it stamped an event."""

    NTP = "ntp"
    RTC = "rtc"
    UNSYNCED = "unsynced"


class Input(StrEnum):
    """Where a rating came from; the channel of rollups."""

    BUTTON = "button"
    TOUCH = "touch"
    WEB = "web"
    PHONE = "phone"


class Flag(StrEnum):
    """Flags a kiosk's filter sets; flagged events are kept and shown apart, never dropped."""

    RAPID_REPEAT = "rapid_repeat"
    BURST = "burst"


class TimeSource(StrEnum):
    """Which clock the collector used to place an event in time."""

    KIOSK = "kiosk"  # the kiosk's own ts, trusted (ntp or rtc)
    CORRECTED = "corrected"  # unsynced ts replaced from the monotonic stamp
    RECEIVED = "received"  # nothing trustworthy: the time the collector received it
    UNSYNCED = "unsynced"  # unsynced and not correctable, but plausible: kept as given


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


# A `\uD800`-`\uDFFF` escape: only then can a lone surrogate hide in a parsed string.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


# Made once: `json.loads(text, parse_constant=...)` builds a decoder per call.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
_BOM_STARTS = frozenset((b"\xef", b"\xff", b"\xfe", b"\x00"))


def parse_json(payload: bytes | str) -> Any:
    """`json.loads` for what came over the network: a ValueError for anything unusable.

    The contract is JSON in UTF-8 (RFC 8259 section 8.1): bytes in another
    encoding (UTF-16 or UTF-32, with or without a byte order mark), a UTF-8
    byte order mark, invalid UTF-8 and escaped lone surrogates (`"\\ud800"`,
    which SQLite cannot store as text) are refused with the reason, never
    guessed (`json.loads` on bytes guesses UTF-16 and UTF-32). So are NaN and
    Infinity (`1e400` parses to a float, which no integer field accepts). Deep nesting
    (`[[[[...`, 256 KiB of it) makes `json.loads` raise RecursionError, which
    callers catching ValueError would let through.
    """
    if not isinstance(payload, str):
        payload = bytes(payload)
        if payload[:1] in _BOM_STARTS:  # JSON text starts with none of these: only then look closer
            if payload.startswith(b"\xef\xbb\xbf"):
                raise ValueError("starts with a UTF-8 byte order mark; send UTF-8 without one")
            if payload.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
                raise ValueError("starts with a UTF-16 or UTF-32 byte order mark; send UTF-8")
        if b"\x00" in payload:
            raise ValueError("contains NUL bytes (UTF-16 or UTF-32?); send UTF-8")
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"invalid UTF-8 at byte {exc.start}") from None
    else:
        text = payload
    try:
        value = _DECODER.decode(text)
        # `in` is a memchr-fast scan; kiosks' batches hold no escapes at all.
        lone = "\\u" in text and _SURROGATE_ESCAPE_RE.search(text) is not None and _has_lone_surrogate(value)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if lone:
        raise ValueError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
    return value


# -- topics -----------------------------------------------------------------


def is_slug(value: object) -> bool:
    return isinstance(value, str) and SLUG_RE.match(value) is not None


def topic(site: str, kiosk: str, kind: Kind) -> str:
    """Build `ressenti/v1/{site}/{kiosk}/{kind}`."""
    for name, value in (("site", site), ("kiosk", kiosk)):
        if not is_slug(value):
            raise BadTopic(f"{name} {value!r} is not a slug [a-z0-9][a-z0-9-]{{0,62}}")
    return f"{ROOT}/{site}/{kiosk}/{Kind(kind).value}"


@dataclass(frozen=True)
class TopicParts:
    site: str
    kiosk: str
    kind: Kind


@lru_cache(maxsize=4096)  # ingest parses every message's topic; a fleet has a few thousand
def parse_topic(name: str) -> TopicParts:
    """Split a kiosk topic into site, kiosk and kind, or raise BadTopic."""
    parts = name.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
        raise BadTopic(f"topic {name!r} is not {ROOT}/<site>/<kiosk>/<kind>")
    _, _, site, kiosk, kind = parts
    if not (is_slug(site) and is_slug(kiosk)):
        raise BadTopic(f"topic {name!r} has a site or kiosk that is not a slug")
    try:
        return TopicParts(site, kiosk, Kind(kind))
    except ValueError:
        raise BadTopic(f"topic {name!r} ends in unknown kind {kind!r}") from None


def subscription(kind: Kind, site: str = "+", kiosk: str = "+") -> str:
    """A topic filter, e.g. every kiosk's events: `ressenti/v1/+/+/events`."""
    return f"{ROOT}/{site}/{kiosk}/{Kind(kind).value}"


# Collector-internal: ingest tells web processes that a site's figures changed.
# `_` cannot start a slug, so this never collides with a kiosk topic.
LIVE_ROOT = f"{ROOT}/_live"


def live_topic(site: str) -> str:
    return f"{LIVE_ROOT}/{site}"


# -- time -------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """UTC, millisecond precision, `Z` suffix: 2026-11-22T09:14:03.120Z."""
    # isoformat is several times faster than strftime, and ingest calls this per event.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def parse_ts(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("ts must be an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("ts must carry a time zone (use Z for UTC)")
    return moment.astimezone(UTC)


# -- events batch -----------------------------------------------------------


@dataclass(slots=True)
class Event:
    """One validated rating.

    Not frozen: ingest builds one per event, and a frozen dataclass's
    `__init__` costs three times as much. Nothing changes an event once decoded.
    """

    id: str
    seq: int
    ts: datetime
    clock: Clock
    boot: str
    up_ms: int
    question: str
    scale: int
    rating: int
    input: Input
    flags: tuple[str, ...] = ()
    followup: dict[str, str] | None = None
    lang: str = "fr"
    # `ts` as the kiosk wrote it, when that is already the canonical format_ts
    # text: ingest stores it as is (datetime.isoformat costs 3 us per call).
    ts_text: str = field(default="", compare=False, repr=False)

    def ts_wire(self) -> str:
        """`ts` in the contract's format."""
        return self.ts_text or format_ts(self.ts)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "ts": self.ts_wire(),
            "clock": self.clock.value,
            "boot": self.boot,
            "up_ms": self.up_ms,
            "question": self.question,
            "scale": self.scale,
            "rating": self.rating,
            "input": self.input.value,
            "flags": list(self.flags),
            "followup": self.followup,
            "lang": self.lang,
        }


@dataclass(frozen=True)
class RejectedEvent:
    seq: int | None
    reason: str
    raw: Any


@dataclass
class Batch:
    """A decoded batch: the valid events and, apart, the events that broke the contract."""

    kiosk: str
    site: str
    epoch: str
    boot: str
    up_ms: int
    events: list[Event] = field(default_factory=list)
    rejected: list[RejectedEvent] = field(default_factory=list)
    # Optional v1 extension: every seq <= dropped_through that the kiosk still
    # held was dropped by its full outbox and will never come (docs/protocol.md).
    dropped_through: int = 0


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def in_bounds(value: object, low: int, high: int) -> bool:
    """An integer (not a bool, not a float) from `low` to `high`: every integer of the contract is checked so."""
    return type(value) is int and low <= value <= high


_BATCH_KEYS = ("v", "kiosk", "site", "epoch", "boot", "up_ms", "events")
_EVENT_KEYS = ("id", "seq", "ts", "clock", "boot", "up_ms", "question", "scale", "rating", "input")


def _epoch_ok(value: object) -> bool:
    return isinstance(value, str) and 8 <= len(value) <= 64 and value.replace("-", "").isalnum()


def _followup_ok(value: object) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, dict)
        and set(value) <= {"question", "choice"}
        and is_slug(value.get("question"))
        and is_slug(value.get("choice"))
    )


_CLOCKS = {c.value: c for c in Clock}
_INPUTS = {i.value: i for i in Input}


def decode_event(obj: object) -> Event:
    """Validate one event object; raise BadEvent with the reason (and seq when known).

    Written as straight-line checks: ingest runs this for every event.
    """
    if not isinstance(obj, dict):
        raise BadEvent("event is not a JSON object")
    seq = obj.get("seq")
    good_seq = seq if type(seq) is int and 1 <= seq <= MAX_SEQ else None
    try:
        for key in _EVENT_KEYS:
            if key not in obj:
                raise ValueError(f"missing {key!r}")
        event_id = obj["id"]
        if not isinstance(event_id, str) or len(event_id) > 64:
            raise ValueError(f"id {event_id!r:.60} is not a UUID")
        if not _CANONICAL_UUID_RE.fullmatch(event_id):
            event_id = str(uuid.UUID(event_id))
        if good_seq is None:
            raise ValueError(f"seq {seq!r:.24} is not an integer from 1 to {MAX_SEQ}")
        ts_text = obj["ts"]
        ts = parse_ts(ts_text)
        if not _CANONICAL_TS_RE.fullmatch(ts_text):
            ts_text = ""
        clock = _CLOCKS.get(obj["clock"]) if isinstance(obj["clock"], str) else None
        if clock is None:
            raise ValueError(f"clock {obj['clock']!r:.20} is not ntp, rtc or unsynced")
        boot = obj["boot"]
        if not (isinstance(boot, str) and _BOOT_RE.match(boot)):
            raise ValueError(f"boot {boot!r:.60} is not a boot id")
        up_ms = obj["up_ms"]
        if not (type(up_ms) is int and 0 <= up_ms <= MAX_UP_MS):
            raise ValueError(f"up_ms {up_ms!r:.24} is not an integer from 0 to {MAX_UP_MS}")
        question = obj["question"]
        if not is_slug(question):
            raise ValueError(f"question {question!r:.60} is not a slug")
        scale, rating = obj["scale"], obj["rating"]
        if type(scale) is not int or scale not in SCALES:
            raise ValueError(f"scale {scale!r:.20} is not 3, 4 or 5")
        if type(rating) is not int:
            raise ValueError(f"rating {rating!r:.20} is not an integer")
        if not 1 <= rating <= scale:
            raise ValueError(f"rating {rating} outside scale {scale}")
        source = _INPUTS.get(obj["input"]) if isinstance(obj["input"], str) else None
        if source is None:
            raise ValueError(f"input {obj['input']!r:.20} is not button, touch, web or phone")
        flags = obj.get("flags") or []
        if not (isinstance(flags, list) and len(flags) <= 8 and all(
            isinstance(f, str) and _FLAG_RE.match(f) for f in flags
        )):
            raise ValueError(f"flags {flags!r:.60} is not a list of short names")
        followup = obj.get("followup")
        if not _followup_ok(followup):
            raise ValueError(f"followup {followup!r:.60} is not null or {{question, choice}} slugs")
        lang = obj.get("lang", "fr")
        if not (isinstance(lang, str) and _LANG_RE.match(lang)):
            raise ValueError(f"lang {lang!r:.20} is not a language code")
    except ValueError as exc:
        raise BadEvent(str(exc), good_seq) from None
    return Event(
        id=event_id, seq=seq, ts=ts, clock=clock, boot=boot, up_ms=up_ms, question=question,
        scale=scale, rating=rating, input=source, flags=tuple(dict.fromkeys(flags)) if flags else (),
        followup=followup, lang=lang, ts_text=ts_text,
    )


def decode_batch(payload: bytes) -> Batch:
    """Parse an events batch. Raise BadBatch if unusable; bad events land in `rejected`.

    A batch valid whole is decoded by msgspec (ressenti/batch_decoder.py), 4 to
    5 times faster; anything else goes through `decode_batch_reference`, whose
    checks and messages are the contract.
    """
    if len(payload) > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"batch is {len(payload)} bytes, over the {MAX_BATCH_BYTES} limit")
    batch = _batch_decoder.decode_fast(payload)
    return batch if batch is not None else decode_batch_reference(payload)


def decode_batch_reference(payload: bytes) -> Batch:
    """`decode_batch` by straight Python checks: the contract's rules and error messages."""
    if len(payload) > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"batch is {len(payload)} bytes, over the {MAX_BATCH_BYTES} limit")
    try:
        body = parse_json(payload)
    except ValueError as exc:
        raise NotJSON(f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadBatch("batch is not a JSON object")
    try:
        for key in _BATCH_KEYS:
            if key not in body:
                raise ValueError(f"missing {key!r}")
        if type(body["v"]) is not int or body["v"] != VERSION:
            raise ValueError(f"v {body['v']!r:.20} is not version {VERSION}")
        kiosk, site, epoch, boot = body["kiosk"], body["site"], body["epoch"], body["boot"]
        up_ms, raw_events = body["up_ms"], body["events"]
        if not is_slug(kiosk):
            raise ValueError(f"kiosk {kiosk!r:.60} is not a slug")
        if not is_slug(site):
            raise ValueError(f"site {site!r:.60} is not a slug")
        if not _epoch_ok(epoch):
            raise ValueError(f"epoch {epoch!r:.60} is not an epoch id (ULID or UUID)")
        if not (isinstance(boot, str) and _BOOT_RE.match(boot)):
            raise ValueError(f"boot {boot!r:.60} is not a boot id")
        if not in_bounds(up_ms, 0, MAX_UP_MS):
            raise ValueError(f"up_ms {up_ms!r:.24} is not an integer from 0 to {MAX_UP_MS}")
        if not isinstance(raw_events, list):
            raise ValueError(f"events {raw_events!r:.60} is not a list")
        dropped = body.get("dropped_through", 0)
        if not in_bounds(dropped, 0, MAX_SEQ):
            raise ValueError(f"dropped_through {dropped!r:.24} is not an integer from 0 to {MAX_SEQ}")
    except ValueError as exc:
        raise BadBatch(str(exc)) from None
    if len(raw_events) > MAX_EVENTS_PER_BATCH:
        raise BatchTooLarge(f"{len(raw_events)} events, over the {MAX_EVENTS_PER_BATCH} limit")
    seqs = [e["seq"] for e in raw_events if isinstance(e, dict) and in_bounds(e.get("seq"), 1, MAX_SEQ)]
    if any(b <= a for a, b in itertools.pairwise(seqs)):
        raise BadBatch("events are not in strictly ascending seq")
    batch = Batch(kiosk, site, epoch, boot, up_ms, dropped_through=dropped)
    for raw in raw_events:
        try:
            batch.events.append(decode_event(raw))
        except BadEvent as exc:
            batch.rejected.append(RejectedEvent(exc.seq, exc.reason, raw))
    return batch


def encode_batch(
    *, kiosk: str, site: str, epoch: str, boot: str, up_ms: int,
    events: list[dict[str, Any]], dropped_through: int = 0,
) -> bytes:
    body: dict[str, Any] = {
        "v": VERSION, "kiosk": kiosk, "site": site, "epoch": epoch,
        "boot": boot, "up_ms": up_ms, "events": events,
    }
    if dropped_through:
        body["dropped_through"] = dropped_through
    return json.dumps(body, separators=(",", ":")).encode()


# -- ack --------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    epoch: str
    through: int
    rejected: tuple[tuple[int, str], ...] = ()


def encode_ack(ack: Ack) -> bytes:
    return json.dumps({
        "v": VERSION, "epoch": ack.epoch, "through": ack.through,
        "rejected": [{"seq": s, "reason": r} for s, r in ack.rejected],
    }, separators=(",", ":")).encode()


def decode_ack(payload: bytes) -> Ack:
    try:
        body = parse_json(payload)
        if not isinstance(body, dict) or body.get("v") != VERSION:
            raise ValueError("not a v1 ack object")
        epoch, through = body["epoch"], body["through"]
        if not (_epoch_ok(epoch) and in_bounds(through, 0, MAX_SEQ)):
            raise ValueError("bad epoch or through")
        rejected = tuple((r["seq"], str(r["reason"])) for r in body.get("rejected", []))
        if not all(in_bounds(seq, 1, MAX_SEQ) for seq, _ in rejected):
            raise ValueError(f"a rejected seq is not an integer from 1 to {MAX_SEQ}")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadAck(f"unusable ack: {exc}") from None
    return Ack(epoch, through, rejected)


# -- status -----------------------------------------------------------------


def encode_status(**fields: Any) -> bytes:
    """A heartbeat: `state` plus whatever health the kiosk measured."""
    return json.dumps({"v": VERSION, **fields}, separators=(",", ":")).encode()


OFFLINE_STATUS = encode_status(state="offline")


# -- follow-up question (in the config) -------------------------------------
#
# The optional question asked after a low rating on a touch kiosk; its answer
# rides on the rating's own event (`followup`, above). The format is documented
# in docs/touch.md; the collector checks it before a push, the kiosk on receipt.

FOLLOWUP_MIN_CHOICES, FOLLOWUP_MAX_CHOICES = 3, 6
FOLLOWUP_LABEL_CHARS = 40  # longer labels do not fit a 15 mm-high button at a readable size
FOLLOWUP_TIMEOUT_S = 15.0
_FOLLOWUP_KEYS = {"id", "when_rating_at_most", "question", "choices", "timeout_s"}
_CHOICE_KEYS = {"id", *LANGUAGES}  # a label per shipped language (ressenti/i18n.py)


@dataclass(frozen=True)
class Choice:
    id: str
    labels: dict[str, str]

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels["fr"]


@dataclass(frozen=True)
class Followup:
    id: str
    when_rating_at_most: int
    question: dict[str, str]
    choices: tuple[Choice, ...]
    timeout_s: float = FOLLOWUP_TIMEOUT_S

    def applies_to(self, rating: int) -> bool:
        return rating <= self.when_rating_at_most

    def question_text(self, lang: str) -> str:
        return self.question.get(lang) or self.question["fr"]

    def answer(self, choice_id: str) -> dict[str, str]:
        """The event's `followup` field for a chosen answer."""
        if choice_id not in {c.id for c in self.choices}:
            raise ValueError(f"{choice_id!r} is not a choice of follow-up {self.id!r}")
        return {"question": self.id, "choice": choice_id}


def _texts(value: object, where: str) -> dict[str, str]:
    if not (isinstance(value, dict) and value and all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())):
        raise BadFollowup(f"{where} must map language codes to non-empty text, "
                          "e.g. {\"fr\": \"...\", \"en\": \"...\"}")
    if "fr" not in value:
        raise BadFollowup(f"{where} needs a French text (\"fr\"): French is shown first")
    return dict(value)


def _choice(raw: object, index: int) -> Choice:
    where = f"followup choices[{index}]"
    if not isinstance(raw, dict):
        raise BadFollowup(f"{where} must be an object like "
                          "{\"id\": \"wait\", \"fr\": \"Temps d'attente\"}")
    unknown = set(raw) - _CHOICE_KEYS
    if unknown:
        raise BadFollowup(f"{where} has unknown keys {sorted(unknown)}; "
                          f"allowed: {sorted(_CHOICE_KEYS)}")
    if not is_slug(raw.get("id")):
        raise BadFollowup(f"{where} id {raw.get('id')!r} must be a slug [a-z0-9][a-z0-9-]{{0,62}}")
    labels = _texts({k: v for k, v in raw.items() if k != "id"}, where)
    for lang, label in labels.items():
        if len(label) > FOLLOWUP_LABEL_CHARS:
            raise BadFollowup(f"{where} {lang} label is {len(label)} characters; "
                              f"keep it to {FOLLOWUP_LABEL_CHARS} so it fits the button")
    return Choice(raw["id"], labels)


def parse_followup(raw: object, scale: int) -> Followup | None:
    """Validate a follow-up object (None means no follow-up); raise BadFollowup."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadFollowup("followup must be an object or null")
    unknown = set(raw) - _FOLLOWUP_KEYS
    if unknown:
        raise BadFollowup(f"followup has unknown keys {sorted(unknown)}; "
                          f"allowed: {sorted(_FOLLOWUP_KEYS)}")
    if not is_slug(raw.get("id")):
        raise BadFollowup(f"followup id {raw.get('id')!r} must be a slug [a-z0-9][a-z0-9-]{{0,62}}")
    limit = raw.get("when_rating_at_most")
    if not (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit < scale):
        raise BadFollowup(f"followup when_rating_at_most {limit!r} must be an integer from 1 "
                          f"to {scale - 1} (the scale has {scale} faces)")
    choices_raw = raw.get("choices")
    if not (isinstance(choices_raw, list)
            and FOLLOWUP_MIN_CHOICES <= len(choices_raw) <= FOLLOWUP_MAX_CHOICES):
        raise BadFollowup(f"followup choices must be a list of {FOLLOWUP_MIN_CHOICES} to "
                          f"{FOLLOWUP_MAX_CHOICES} choices")
    choices = tuple(_choice(c, i) for i, c in enumerate(choices_raw))
    ids = [c.id for c in choices]
    if len(set(ids)) != len(ids):
        raise BadFollowup(f"followup choice ids {ids} must be unique")
    timeout = raw.get("timeout_s", FOLLOWUP_TIMEOUT_S)
    number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if not (number and 3 <= timeout <= 120):
        raise BadFollowup(f"followup timeout_s {timeout!r} must be 3 to 120 seconds")
    return Followup(raw["id"], limit, _texts(raw.get("question"), "followup question"),
                    choices, float(timeout))


# -- config (collector -> kiosk) --------------------------------------------


@dataclass(frozen=True)
class KioskSettings:
    """What the collector may push to a kiosk; also the kiosk's defaults."""

    rev: int = 0
    scale: int = 4
    question_id: str = "overall"
    question: dict[str, str] = field(default_factory=lambda: {
        "fr": "Comment s'est passé votre accueil ?", "en": "How was your visit?",
    })
    followup: dict[str, Any] | None = None
    response_interval_s: float = 4.0
    burst_per_minute: int = 12
    languages: tuple[str, ...] = ("fr", "en")
    quiet_hours: Any = None
    # The default question's wording: "standard" or "falc" (easy-to-read; ressenti/i18n.py).
    wording: str = "standard"

    def to_wire(self) -> dict[str, Any]:
        return {
            "v": VERSION, "rev": self.rev, "scale": self.scale, "question_id": self.question_id,
            "question": self.question, "followup": self.followup,
            "response_interval_s": self.response_interval_s,
            "burst_per_minute": self.burst_per_minute,
            "languages": list(self.languages), "quiet_hours": self.quiet_hours,
            "wording": self.wording,
        }


def decode_settings(body: object) -> KioskSettings:
    """Validate a config object (pushed or persisted); raise BadConfig naming the key."""
    if not isinstance(body, dict):
        raise BadConfig("config is not a JSON object")
    if body.get("v", VERSION) != VERSION:
        raise BadConfig(f"config v {body.get('v')!r} is not {VERSION}")
    defaults = KioskSettings()
    rev = body.get("rev", 0)
    if not in_bounds(rev, 0, MAX_CONFIG_REV):
        raise BadConfig(f"config rev {rev!r:.24} must be an integer from 0 to {MAX_CONFIG_REV}")
    scale = body.get("scale", defaults.scale)
    if type(scale) is not int or scale not in SCALES:
        raise BadConfig(f"config scale {scale!r:.24} must be 3, 4 or 5")
    question_id = body.get("question_id", defaults.question_id)
    if not is_slug(question_id):
        raise BadConfig(f"config question_id {question_id!r} must be a slug")
    question = body.get("question", defaults.question)
    if not (isinstance(question, dict) and question and all(
        isinstance(k, str) and isinstance(v, str) for k, v in question.items()
    )):
        raise BadConfig("config question must map language codes to text")
    interval = body.get("response_interval_s", defaults.response_interval_s)
    if not (isinstance(interval, int | float) and not isinstance(interval, bool) and 0 <= interval <= 3600):
        raise BadConfig(f"config response_interval_s {interval!r} must be 0..3600 seconds")
    burst = body.get("burst_per_minute", defaults.burst_per_minute)
    if not in_bounds(burst, 1, MAX_BURST_PER_MINUTE):
        raise BadConfig(f"config burst_per_minute {burst!r:.24} must be an integer from 1 to {MAX_BURST_PER_MINUTE}")
    languages = body.get("languages", list(defaults.languages))
    if not (isinstance(languages, list) and languages and all(
        isinstance(x, str) and _LANG_RE.match(x) for x in languages
    )):
        raise BadConfig("config languages must be a non-empty list of language codes")
    wording = body.get("wording", defaults.wording)
    if wording not in WORDINGS:
        raise BadConfig(f"config wording {wording!r:.24} must be one of {', '.join(WORDINGS)}")
    followup = body.get("followup")
    try:
        parse_followup(followup, scale)
    except BadFollowup as exc:
        raise BadFollowup(f"config {exc}") from None
    return KioskSettings(
        rev=rev, scale=scale, question_id=question_id, question=dict(question),
        followup=followup, response_interval_s=float(interval), burst_per_minute=burst,
        languages=tuple(languages), quiet_hours=body.get("quiet_hours"), wording=wording,
    )


def encode_settings(settings: KioskSettings) -> bytes:
    return json.dumps(settings.to_wire(), separators=(",", ":")).encode()


# -- time correction --------------------------------------------------------

# A kiosk clock is implausible before this (the project did not exist) or more
# than a day ahead of the collector's clock. See docs/protocol.md "Time".
EARLIEST_PLAUSIBLE = datetime(2024, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)


def place_in_time(event: Event, batch: Batch, received_at: datetime) -> tuple[datetime, TimeSource]:
    """The time a rating is counted at, and where that time came from.

    An unsynced (or implausible) clock is corrected from the monotonic stamps
    when the batch was sent during the same boot; otherwise a trusted clock is
    kept, and an implausible one falls back to the receive time.
    """
    plausible = EARLIEST_PLAUSIBLE <= event.ts <= received_at + MAX_AHEAD
    if event.clock != Clock.UNSYNCED and plausible:
        return event.ts, TimeSource.KIOSK
    if event.boot == batch.boot and batch.up_ms >= event.up_ms:
        return received_at - timedelta(milliseconds=batch.up_ms - event.up_ms), TimeSource.CORRECTED
    if plausible:
        return event.ts, TimeSource.UNSYNCED
    return received_at, TimeSource.RECEIVED


# At the end: the fast decoder builds this module's Event and Batch.
from ressenti import batch_decoder as _batch_decoder  # noqa: E402
