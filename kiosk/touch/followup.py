"""The optional follow-up question for low ratings: its config format, validated.

The follow-up rides on the rating's own event (`followup` in the contract,
docs/protocol.md), never as a second rating. Format (in `KioskSettings.followup`,
pushed in the retained config message; documented in docs/touch.md)::

    {"id": "why", "when_rating_at_most": 2, "timeout_s": 15,
     "question": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?"},
     "choices": [{"id": "wait", "fr": "Temps d'attente", "en": "Waiting time"}, ...]}

A bad follow-up is refused with a message naming the key; the kiosk then runs
without one (and logs why) rather than stop taking ratings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ressenti.errors import BadConfig
from ressenti.protocol import is_slug

log = logging.getLogger(__name__)

MIN_CHOICES, MAX_CHOICES = 3, 6
MAX_LABEL_CHARS = 40  # longer labels do not fit a 15 mm-high button at a readable size
DEFAULT_TIMEOUT_S = 15.0
_KEYS = {"id", "when_rating_at_most", "question", "choices", "timeout_s"}
_CHOICE_KEYS = {"id", "fr", "en"}


class BadFollowup(BadConfig):
    """The follow-up in the kiosk settings is not usable; the message says what to fix."""


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
    timeout_s: float = DEFAULT_TIMEOUT_S

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
        if len(label) > MAX_LABEL_CHARS:
            raise BadFollowup(f"{where} {lang} label is {len(label)} characters; "
                              f"keep it to {MAX_LABEL_CHARS} so it fits the button")
    return Choice(raw["id"], labels)


def parse_followup(raw: object, scale: int) -> Followup | None:
    """Validate a follow-up object (None means no follow-up); raise BadFollowup."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadFollowup("followup must be an object or null")
    unknown = set(raw) - _KEYS
    if unknown:
        raise BadFollowup(f"followup has unknown keys {sorted(unknown)}; allowed: {sorted(_KEYS)}")
    if not is_slug(raw.get("id")):
        raise BadFollowup(f"followup id {raw.get('id')!r} must be a slug [a-z0-9][a-z0-9-]{{0,62}}")
    limit = raw.get("when_rating_at_most")
    if not (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit < scale):
        raise BadFollowup(f"followup when_rating_at_most {limit!r} must be an integer from 1 "
                          f"to {scale - 1} (the scale has {scale} faces)")
    choices_raw = raw.get("choices")
    if not (isinstance(choices_raw, list) and MIN_CHOICES <= len(choices_raw) <= MAX_CHOICES):
        raise BadFollowup(f"followup choices must be a list of {MIN_CHOICES} to {MAX_CHOICES}"
                          " choices")
    choices = tuple(_choice(c, i) for i, c in enumerate(choices_raw))
    ids = [c.id for c in choices]
    if len(set(ids)) != len(ids):
        raise BadFollowup(f"followup choice ids {ids} must be unique")
    timeout = raw.get("timeout_s", DEFAULT_TIMEOUT_S)
    number = isinstance(timeout, int | float) and not isinstance(timeout, bool)
    if not (number and 3 <= timeout <= 120):
        raise BadFollowup(f"followup timeout_s {timeout!r} must be 3 to 120 seconds")
    return Followup(raw["id"], limit, _texts(raw.get("question"), "followup question"),
                    choices, float(timeout))


def followup_or_none(raw: Any, scale: int) -> Followup | None:
    """parse_followup, but a bad follow-up is logged and ignored: ratings go on without it."""
    try:
        return parse_followup(raw, scale)
    except BadFollowup as exc:
        log.error("ignoring the follow-up question of the kiosk settings: %s", exc)
        return None
