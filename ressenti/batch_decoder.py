"""The fast path of `protocol.decode_batch`: msgspec checks a whole batch in C.

`protocol.decode_batch` is the contract. This module only answers faster for
the batches that contract accepts whole (every event valid), which is what
kiosks send: the typed structs below accept a subset of what the contract
accepts, and give the same `Batch` for it. For anything else (a bad event, a
non-canonical UUID or time stamp, an unknown key, bytes msgspec refuses...)
`decode_fast` returns None and `decode_batch` runs the reference checks,
which produce the contract's own error messages and rejections. So the error
texts never depend on msgspec's, and tests/test_batch_decoder.py checks on a
corpus of valid and mutated batches that both paths agree.

Why each struct refuses unknown keys: msgspec skips an unknown value without
checking what `json.loads` refuses inside it (invalid UTF-8, integers past
4300 digits); refusing the key sends such a batch to the reference path.
Why patterns are the contract's own regex texts: msgspec applies them with
`re.search`, which for `^`-anchored patterns is the contract's `re.match`
(`$` included, which also allows one trailing newline, as the contract does).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ressenti import protocol as p

_Slug = Annotated[str, Meta(pattern=p.SLUG_RE.pattern)]
_Boot = Annotated[str, Meta(pattern=p._BOOT_RE.pattern)]
# Only the canonical spellings, which the contract keeps as they are; `\Z`, not
# `$`, because the contract uses `fullmatch` for these two. `[0-9]`, not `\d`,
# which matches other scripts' digits too.
_Uuid = Annotated[str, Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")]
_CanonicalTs = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")]


class _Followup(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    question: _Slug
    choice: _Slug


class _Event(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Plain `str` for the fields a batch repeats (boot, question, lang, clock,
    # input, flags): `decode_fast` checks each distinct value once per batch,
    # where a msgspec pattern or enum would cost a call per event (a third of the time).
    id: _Uuid
    seq: Annotated[int, Meta(ge=1, le=p.MAX_SEQ)]
    ts: _CanonicalTs
    clock: str
    boot: str
    up_ms: Annotated[int, Meta(ge=0, le=p.MAX_UP_MS)]
    question: str
    scale: Literal[3, 4, 5]
    rating: Annotated[int, Meta(ge=1, le=max(p.SCALES))]  # and at most `scale`: checked below
    input: str
    flags: Annotated[list[str], Meta(max_length=8)] | None = None
    followup: _Followup | None = None
    lang: str = "fr"


class _Batch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    v: Literal[1]
    kiosk: _Slug
    site: _Slug
    epoch: str  # checked below with the contract's own `_epoch_ok`
    boot: _Boot
    up_ms: Annotated[int, Meta(ge=0, le=p.MAX_UP_MS)]
    events: Annotated[list[_Event], Meta(max_length=p.MAX_EVENTS_PER_BATCH)]
    dropped_through: Annotated[int, Meta(ge=0, le=p.MAX_SEQ)] = 0


_DECODER = msgspec.json.Decoder(_Batch)
_FAILED = (msgspec.MsgspecError, RecursionError, ValueError)


def decode_fast(payload: bytes) -> p.Batch | None:
    """The batch, when the contract accepts it whole and msgspec can tell; else None."""
    try:
        wire = _DECODER.decode(payload)
    except _FAILED:  # the reference path says what is wrong
        return None
    if not p._epoch_ok(wire.epoch):
        return None
    batch = p.Batch(wire.kiosk, wire.site, wire.epoch, wire.boot, wire.up_ms, dropped_through=wire.dropped_through)
    events = batch.events
    # Values already checked in this batch, per rule.
    boots, slugs, langs, flag_names = {wire.boot}, set(), set(), set()
    boot_re, slug_re, lang_re, flag_re = p._BOOT_RE.match, p.SLUG_RE.match, p._LANG_RE.match, p._FLAG_RE.match
    clocks, inputs = p._CLOCKS, p._INPUTS
    # The pattern fixes a `Z` suffix: `fromisoformat` then gives what `parse_ts`
    # does (a datetime in `UTC` itself, which `astimezone(UTC)` returns as is).
    fromisoformat, event_class = datetime.fromisoformat, p.Event
    last = 0
    for e in wire.events:
        seq, boot, question, lang, flags = e.seq, e.boot, e.question, e.lang, e.flags
        if seq <= last or e.rating > e.scale:
            return None
        last = seq
        if boot not in boots:
            if not boot_re(boot):
                return None
            boots.add(boot)
        if question not in slugs:
            if not slug_re(question):
                return None
            slugs.add(question)
        if lang not in langs:
            if not lang_re(lang):
                return None
            langs.add(lang)
        if flags:
            for flag in flags:
                if flag not in flag_names:
                    if not flag_re(flag):
                        return None
                    flag_names.add(flag)
            flags = tuple(dict.fromkeys(flags))
        else:
            flags = ()
        clock, source, followup = clocks.get(e.clock), inputs.get(e.input), e.followup
        if clock is None or source is None:
            return None
        try:
            ts = fromisoformat(e.ts)
        except ValueError:  # a canonical shape, not a date (month 13)
            return None
        events.append(event_class(
            e.id, seq, ts, clock, boot, e.up_ms, question, e.scale, e.rating, source, flags,
            None if followup is None else {"question": followup.question, "choice": followup.choice},
            lang, e.ts,
        ))
    return batch
