"""The follow-up question's config: the documented format is accepted, mistakes are named."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from kiosk.touch.followup import BadFollowup, followup_or_none, parse_followup
from kiosk.touch.shoot import SAMPLE_FOLLOWUP
from ressenti.protocol import decode_event

WHY: dict[str, Any] = {**SAMPLE_FOLLOWUP, "timeout_s": 15}


def with_change(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(WHY)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def test_documented_example_is_accepted():
    followup = parse_followup(WHY, scale=4)
    assert followup is not None
    assert [c.id for c in followup.choices] == ["wait", "unclear", "welcome", "other"]
    assert followup.applies_to(1) and followup.applies_to(2) and not followup.applies_to(3)
    assert followup.question_text("en") == "What went wrong?"
    assert followup.choices[1].label("de") == "Information peu claire", "French when no text"
    assert followup.timeout_s == 15


def test_answer_is_valid_on_the_wire():
    """The answer rides on the rating's event and passes the collector's validation."""
    followup = parse_followup(WHY, scale=4)
    assert followup is not None
    event = {"id": "9b2f6c1e-1111-4111-8111-111111111111", "seq": 1,
             "ts": "2026-11-22T09:14:03.120Z", "clock": "ntp", "boot": "b", "up_ms": 1,
             "question": "overall", "scale": 4, "rating": 1, "input": "touch", "flags": [],
             "followup": followup.answer("unclear"), "lang": "fr"}
    assert decode_event(event).followup == {"question": "why", "choice": "unclear"}
    with pytest.raises(ValueError, match="not a choice"):
        followup.answer("nope")


def test_none_means_no_followup():
    assert parse_followup(None, scale=4) is None


@pytest.mark.parametrize(("path", "value", "message"), [
    (("id",), "Why?", "id 'Why\\?' must be a slug"),
    (("when_rating_at_most",), 4, "from 1 to 3"),
    (("when_rating_at_most",), True, "must be an integer"),
    (("when_rating_at_most",), ..., "must be an integer"),
    (("question",), {"en": "What went wrong?"}, "needs a French text"),
    (("question",), "Pourquoi ?", "must map language codes"),
    (("choices",), [], "3 to 6 choices"),
    (("choices",), [{"id": f"c{i}", "fr": "x"} for i in range(7)], "3 to 6 choices"),
    (("choices", 0, "id"), "Temps", "choices\\[0\\] id 'Temps' must be a slug"),
    (("choices", 1, "id"), "wait", "must be unique"),
    (("choices", 2, "fr"), ..., "needs a French text"),
    (("choices", 2, "label"), "Accueil", "unknown keys \\['label'\\]"),
    (("choices", 3, "fr"), "x" * 41, "41 characters"),
    (("timout_s",), 10, "unknown keys \\['timout_s'\\]"),
    (("timeout_s",), 1, "3 to 120 seconds"),
])
def test_mistakes_are_named(path, value, message):
    with pytest.raises(BadFollowup, match=message):
        parse_followup(with_change(path, value), scale=4)


def test_bad_followup_is_ignored_and_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="kiosk.touch.followup"):
        assert followup_or_none(with_change(("id",), "Bad Id"), scale=4) is None
    assert "ignoring the follow-up question" in caplog.text
    assert "must be a slug" in caplog.text
