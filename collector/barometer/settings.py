"""Per-organisation settings of the barometer: off until an admin turns it on.

The form (scale, its labels, the questions) is configurable per organisation; the defaults are in
French and English, inspired by the themes of the national well-being barometer of local
government staff: workload, relations with the public, support from the team and management,
meaning and recognition, tension or incivility faced. The minimum group size is never below
DEFAULT_MIN_GROUP: it can be raised, not lowered (docs/privacy.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlite_utils import Database

from collector.barometer import BarometerError
from ressenti.protocol import format_ts, is_slug, utc_now

DEFAULT_MIN_GROUP = 5
MAX_MIN_GROUP = 100
MAX_QUESTIONS = 8
MAX_TEXT = 200
SCALES = (3, 4, 5)


@dataclass(frozen=True)
class Question:
    id: str
    fr: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.fr


DEFAULT_LABELS = {
    3: (("Non", "No"), ("En partie", "Partly"), ("Oui", "Yes")),
    4: (("Pas du tout", "Not at all"), ("Plutôt non", "Rather not"), ("Plutôt oui", "Rather yes"),
        ("Tout à fait", "Absolutely")),
    5: (("Pas du tout", "Not at all"), ("Plutôt non", "Rather not"), ("Mitigé", "Mixed"),
        ("Plutôt oui", "Rather yes"), ("Tout à fait", "Absolutely")),
}
DEFAULT_QUESTIONS = (
    Question("semaine", "Dans l'ensemble, ma semaine à l'accueil s'est bien passée.",
             "Overall, my week at the reception went well."),
    Question("charge", "Ma charge de travail était tenable.", "My workload was manageable."),
    Question("public", "Les échanges avec le public se sont bien passés.", "Dealings with the public went well."),
    Question("soutien", "Je me suis senti·e soutenu·e par l'équipe et l'encadrement.",
             "I felt supported by the team and management."),
    Question("sens", "Mon travail a eu du sens et a été reconnu.", "My work felt meaningful and recognised."),
    Question("incivilites", "Je n'ai pas eu à faire face à des tensions ou incivilités difficiles à vivre.",
             "I did not have to face tension or incivility that was hard to bear."),
)


@dataclass(frozen=True)
class Settings:
    org: str
    enabled: bool = False
    min_group: int = DEFAULT_MIN_GROUP
    scale: int = 4
    labels: tuple[tuple[str, str], ...] = DEFAULT_LABELS[4]
    questions: tuple[Question, ...] = DEFAULT_QUESTIONS
    updated: str | None = field(default=None, compare=False)

    def label(self, rating: int, lang: str) -> str:
        fr, en = self.labels[rating - 1]
        return en if lang == "en" and en else fr

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


def get_settings(db: Database, org: str) -> Settings:
    """The organisation's settings; an organisation never configured has the defaults, disabled."""
    row = db.conn.execute("SELECT enabled, min_group, form, updated FROM barometer_settings WHERE org = ?",
                          (org,)).fetchone()
    if row is None:
        return Settings(org)
    form = json.loads(row[2])
    return Settings(org, bool(row[0]), int(row[1]), int(form["scale"]),
                    tuple((fr, en) for fr, en in form["labels"]),
                    tuple(Question(q["id"], q["fr"], q["en"]) for q in form["questions"]), row[3])


def _text(what: str, value: object, required: bool = True) -> str:
    if not isinstance(value, str):
        raise BarometerError(f"{what} must be a text", f"{what} doit être un texte")
    text = " ".join(value.split())
    if required and not text:
        raise BarometerError(f"{what} is empty", f"{what} est vide")
    if len(text) > MAX_TEXT:
        raise BarometerError(f"{what} has {len(text)} characters; at most {MAX_TEXT}",
                             f"{what} a {len(text)} caractères ; {MAX_TEXT} au plus")
    return text


def check_min_group(value: object) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise BarometerError(f"minimum group size {str(value)[:20]!r} must be a whole number",
                             f"la taille minimale du groupe {str(value)[:20]!r} doit être un nombre entier") from None
    if number < DEFAULT_MIN_GROUP:
        raise BarometerError(f"minimum group size {number} is below {DEFAULT_MIN_GROUP}: it can only be raised",
                             f"taille minimale {number} inférieure à {DEFAULT_MIN_GROUP} : on ne peut que la relever")
    if number > MAX_MIN_GROUP:
        raise BarometerError(f"minimum group size {number} is above {MAX_MIN_GROUP}",
                             f"taille minimale {number} supérieure à {MAX_MIN_GROUP}")
    return number


def parse_questions(text: str) -> tuple[Question, ...]:
    """One question a line: `id | texte en français | English text` (the English is optional)."""
    questions = []
    for number, line in enumerate(str(text).splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) not in (2, 3) or not is_slug(parts[0]):
            raise BarometerError(f"question line {number} must read `id | texte français | English text`"
                                 " (id: lower-case letters, digits and '-')",
                                 f"la ligne {number} doit être « id | texte français | English text »")
        questions.append(Question(parts[0], _text(f"question {parts[0]}", parts[1]),
                                  _text(f"question {parts[0]} (en)", parts[2] if len(parts) == 3 else "", False)))
    return check_questions(questions)


def check_questions(questions: list[Question] | tuple[Question, ...]) -> tuple[Question, ...]:
    if not 1 <= len(questions) <= MAX_QUESTIONS:
        raise BarometerError(f"the barometer needs 1 to {MAX_QUESTIONS} questions, not {len(questions)}",
                             f"le baromètre compte de 1 à {MAX_QUESTIONS} questions, pas {len(questions)}")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise BarometerError("two questions have the same id", "deux questions ont le même identifiant")
    return tuple(questions)


def parse_labels(text: str, scale: int) -> tuple[tuple[str, str], ...]:
    """One label a line, from the lowest: `texte français | English text`; empty: the defaults."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    if not lines:
        return DEFAULT_LABELS[scale]
    if len(lines) != scale:
        raise BarometerError(f"a scale of {scale} needs {scale} labels, one a line, not {len(lines)}",
                             f"une échelle de {scale} demande {scale} libellés, un par ligne, pas {len(lines)}")
    out = []
    for line in lines:
        fr, _, en = line.partition("|")
        out.append((_text("label", fr), _text("label (en)", en, False)))
    return tuple(out)


def check_scale(value: object) -> int:
    try:
        scale = int(str(value).strip())
    except ValueError:
        scale = 0
    if scale not in SCALES:
        shown = str(value)[:20]
        raise BarometerError(f"scale {shown!r} must be 3, 4 or 5", f"l'échelle {shown!r} doit être 3, 4 ou 5")
    return scale


def save_settings(db: Database, org: str, *, enabled: bool | None = None, min_group: object = None,
                  scale: object = None, labels: tuple[tuple[str, str], ...] | None = None,
                  questions: tuple[Question, ...] | None = None) -> Settings:
    """Change what is given, keep the rest; the organisation must exist."""
    if not db["orgs"].count_where("id = ?", [org]):
        raise BarometerError(f"no organisation {org!r}", f"aucune organisation {org!r}")
    now = get_settings(db, org)
    new_scale = check_scale(scale) if scale is not None else now.scale
    if labels is None:
        labels = now.labels if new_scale == now.scale else DEFAULT_LABELS[new_scale]
    if len(labels) != new_scale:
        raise BarometerError(f"a scale of {new_scale} needs {new_scale} labels",
                             f"une échelle de {new_scale} demande {new_scale} libellés")
    form = {"scale": new_scale, "labels": [list(pair) for pair in labels],
            "questions": [{"id": q.id, "fr": q.fr, "en": q.en}
                          for q in check_questions(questions if questions is not None else now.questions)]}
    row = (org, int(now.enabled if enabled is None else enabled),
           check_min_group(min_group) if min_group is not None else now.min_group, json.dumps(form, ensure_ascii=False),
           format_ts(utc_now()))
    db.conn.execute("INSERT INTO barometer_settings (org, enabled, min_group, form, updated) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (org) DO UPDATE SET enabled = excluded.enabled, min_group = excluded.min_group,"
                    " form = excluded.form, updated = excluded.updated", row)
    return get_settings(db, org)


def questions_text(settings: Settings) -> str:
    return "\n".join(f"{q.id} | {q.fr} | {q.en}" for q in settings.questions)


def labels_text(settings: Settings) -> str:
    return "\n".join(f"{fr} | {en}" for fr, en in settings.labels)
