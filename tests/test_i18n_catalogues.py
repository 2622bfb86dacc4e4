"""The citizen-facing catalogues (ressenti/locales): complete, compiled, and used by every surface."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ressenti import i18n
from ressenti.faces import FACE_LABELS, label

ROOT = Path(__file__).parent.parent
LOCALES = ROOT / "ressenti" / "locales"


def catalogue(lang: str):
    with open(LOCALES / lang / "LC_MESSAGES" / "ressenti.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_message_is_translated_and_the_mo_is_up_to_date(lang):
    cat = catalogue(lang)
    ids = {m.id for m in cat if m.id}
    assert len(ids) > 40
    untranslated = [m.id for m in cat if m.id and not all(m.string if isinstance(m.string, tuple) else [m.string])]
    assert not untranslated, f"{lang}: untranslated {untranslated}"
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert not fuzzy, f"{lang}: fuzzy {fuzzy}"
    compiled = io.BytesIO()
    write_mo(compiled, cat)
    mo = LOCALES / lang / "LC_MESSAGES" / "ressenti.mo"
    assert mo.read_bytes() == compiled.getvalue(), \
        f"{mo} is older than its .po: run pybabel compile -D ressenti -d ressenti/locales"


def test_placeholders_survive_translation():
    """A translation that drops or renames %(name)s would crash the page that fills it."""
    import re
    names = re.compile(r"%\((\w+)\)[sd]")
    for lang in i18n.LANGUAGES:
        for m in catalogue(lang):
            if not m.id:
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            wanted = set(names.findall(ids[-1]))
            for s in strings:
                found = set(names.findall(s))
                assert found <= wanted, (lang, m.id, s)  # an unknown name would raise KeyError
                if len(ids) == 1:
                    assert found == wanted, (lang, m.id, s)  # a dropped value would read wrong


def test_the_pot_lists_every_message_in_the_code(tmp_path):
    """pybabel extract over babel.cfg finds nothing the .pot lacks (a text marked but never extracted
    would stay French-only)."""
    out = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                          "-o", str(tmp_path / "now.pot"),
                          "--no-location", "--omit-header", "."], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    with open(tmp_path / "now.pot", "rb") as f:
        extracted = {m.id for m in read_po(f) if m.id}
    with open(LOCALES / "ressenti.pot", "rb") as f:
        in_pot = {m.id for m in read_po(f) if m.id}
    assert extracted == in_pot, f"missing from the .pot: {extracted - in_pot}; stale: {in_pot - extracted}"


def test_loader_falls_back_to_french_then_english():
    assert i18n.gettext("fr", "Thank you!") == "Merci\u00a0!"
    assert i18n.gettext("ar", "Thank you!") == "شكرًا!"
    assert i18n.gettext("uk", "Skip") == "Пропустити"
    assert i18n.gettext("de", "Thank you!") == "Merci\u00a0!"  # no German catalogue: French first
    assert i18n.gettext("es", "a text no catalogue has") == "a text no catalogue has"
    assert i18n.direction("ar") == "rtl" and i18n.direction("uk") == "ltr"


def test_face_labels_come_from_the_catalogues():
    assert FACE_LABELS[3] == {3: ("Très bien", "Very good"), 2: ("Moyen", "Average"), 1: ("Pas bien", "Not good")}
    assert label(4, 1, "es") == "Muy mal"
    assert label(5, 5, "ar") == "جيد جدًا"
    for lang in i18n.LANGUAGES:
        for scale in (3, 4, 5):
            words = [label(scale, r, lang) for r in range(1, scale + 1)]
            assert len(set(words)) == scale, (lang, scale, words)  # no two faces read the same


def test_default_question_and_easy_to_read_wording():
    assert i18n.default_question("fr") == "Comment s'est passé votre accueil ?"
    assert i18n.default_question("fr", "falc") != i18n.default_question("fr")
    default = {"fr": "Comment s'est passé votre accueil ?", "en": "How was your visit?"}
    assert i18n.is_default_question(default)
    assert i18n.question_text(default, "pt") == "Como correu o seu atendimento?"
    assert i18n.question_text(default, "fr", "falc") == i18n.default_question("fr", "falc")
    own = {"fr": "Avez-vous trouvé le bon guichet ?"}
    assert not i18n.is_default_question(own)
    assert i18n.question_text(own, "ar", "falc") == "Avez-vous trouvé le bon guichet ?"


def test_the_wording_setting_travels_to_the_kiosk_and_bad_values_are_refused():
    from ressenti.errors import BadConfig
    from ressenti.protocol import KioskSettings, decode_settings

    falc = KioskSettings(wording="falc")
    assert decode_settings(falc.to_wire()).wording == "falc"
    assert decode_settings({"rev": 1}).wording == "standard"  # a collector that never sends it
    with pytest.raises(BadConfig, match="wording 'simple' must be one of standard, falc"):
        decode_settings({**falc.to_wire(), "wording": "simple"})
    assert i18n.question_text(falc.question, "uk", falc.wording) == "Сьогодні все було добре?"


def test_follow_up_labels_in_every_shipped_language():
    from ressenti.errors import BadFollowup
    from ressenti.protocol import parse_followup

    raw = {"id": "why", "when_rating_at_most": 1, "question": {"fr": "Pourquoi ?", "ar": "لماذا؟"},
           "choices": [{"id": "a", "fr": "Attente", "ar": "الانتظار"}, {"id": "b", "fr": "Autre", "uk": "Інше"},
                       {"id": "c", "fr": "Accueil"}]}
    followup = parse_followup(raw, 3)
    assert followup.choices[0].label("ar") == "الانتظار" and followup.choices[2].label("ar") == "Accueil"
    with pytest.raises(BadFollowup, match="unknown keys"):
        parse_followup({**raw, "choices": [*raw["choices"][:2], {"id": "c", "fr": "Accueil", "xx": "?"}]}, 3)
