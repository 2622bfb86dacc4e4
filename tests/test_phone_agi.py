"""The telephone line end to end: the Asterisk AGI example, driven over the real AGI protocol, posting to a
real collector (gunicorn) with a phone source's token (docs/phone.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gunicorn_support import start_gunicorn
from phone_support import HANGUP, run_call

from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.tokens import TokenKind, create_token
from ressenti.mosquitto_runner import free_port


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    """A collector with site `mairie` (4 faces) and its phone source; the AGI's settings point at it."""
    base = tmp_path_factory.mktemp("phone")
    db_path = base / "collector.db"
    db = connect(db_path)
    add_site(db, "mairie", "Mairie", scale=4)
    add_kiosk(db, "mairie-tel", "mairie", channel="phone")
    _, token = create_token(db, TokenKind.SOURCE, "mairie-tel", "tests")
    db.close()
    server = start_gunicorn(db_path, base / "gunicorn.log", threads=2)
    yield {"base": base, "db_path": db_path, "url": server.url, "token": token}
    server.stop()


def write_config(path: Path, url: str, token: str, spool: Path, **extra: str) -> Path:
    lines = ["[ressenti]", f"url = {url}", f"token = {token}", f"spool = {spool}", "wait_ms = 5000",
             *(f"{k} = {v}" for k, v in extra.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


def events(db_path: Path) -> list[dict]:
    db = connect(db_path)
    try:
        return list(db.query("SELECT kiosk, rating, channel, question, scale FROM events ORDER BY received_at"))
    finally:
        db.close()


def test_a_caller_who_presses_3_is_counted_once_even_when_the_call_is_posted_again(line, tmp_path):
    config = write_config(tmp_path / "ivr.conf", line["url"], line["token"], tmp_path / "spool")
    before = len(events(line["db_path"]))
    first = run_call(config, "1733300000.11", ["3"], args=("overall", "fr"))
    assert first.returncode == 0, first.stderr
    assert first.unknown == [] and first.after_hangup == []
    assert first.asked == ["ressenti/fr/question"] and first.streamed == ["ressenti/fr/thanks"]
    assert first.variables == {"RESSENTI_STATUS": "stored"}, first.verbose
    again = run_call(config, "1733300000.11", ["4"])
    assert again.variables == {"RESSENTI_STATUS": "duplicate"}
    stored = events(line["db_path"])[before:]
    assert stored == [{"kiosk": "mairie-tel", "rating": 3, "channel": "phone", "question": "overall", "scale": 4}]


def test_a_wrong_key_is_asked_again_and_three_wrong_keys_count_nothing(line, tmp_path):
    config = write_config(tmp_path / "ivr.conf", line["url"], line["token"], tmp_path / "spool")
    before = len(events(line["db_path"]))
    corrected = run_call(config, "1733300000.12", ["7", "2"])
    assert corrected.streamed == ["ressenti/fr/invalid", "ressenti/fr/thanks"]
    assert corrected.variables["RESSENTI_STATUS"] == "stored"
    wrong = run_call(config, "1733300000.13", ["9", "*", "0"])
    assert wrong.variables["RESSENTI_STATUS"] == "no-answer" and len(wrong.asked) == 3
    silent = run_call(config, "1733300000.14", [None])
    assert silent.variables["RESSENTI_STATUS"] == "no-answer"
    assert [e["rating"] for e in events(line["db_path"])[before:]] == [2]


def test_a_key_outside_the_sites_scale_is_refused_by_the_collector_with_its_reason(line, tmp_path):
    """An IPBX set up for 5 keys on a 4-face site: the collector refuses key 5 and says why."""
    config = write_config(tmp_path / "ivr.conf", line["url"], line["token"], tmp_path / "spool", scale="5")
    before = len(events(line["db_path"]))
    call = run_call(config, "1733300000.15", ["5"])
    assert call.variables["RESSENTI_STATUS"] == "refused"
    assert any("not a rating from 1 to 4" in text for text in call.verbose), call.verbose
    assert events(line["db_path"])[before:] == []
    assert not (tmp_path / "spool").exists() or not list((tmp_path / "spool").glob("*.json"))
    db = connect(line["db_path"])
    reasons = [r["reason"] for r in db.query("SELECT reason FROM rejected WHERE kiosk = 'mairie-tel'")]
    db.close()
    assert any("key '5' is not a rating from 1 to 4" in r for r in reasons)


def test_collector_down_the_answer_is_spooled_then_sent_once(line, tmp_path):
    spool = tmp_path / "spool"
    down = write_config(tmp_path / "down.conf", f"http://127.0.0.1:{free_port()}", line["token"], spool,
                        timeout_s="1")
    before = len(events(line["db_path"]))
    call = run_call(down, "1733300000.16", ["1"])
    assert call.returncode == 0 and call.variables["RESSENTI_STATUS"] == "spooled"
    assert call.streamed == ["ressenti/fr/thanks"], "the caller is thanked all the same"
    assert [p.name for p in spool.glob("*.json")] == ["1733300000.16.json"]
    up = write_config(tmp_path / "up.conf", line["url"], line["token"], spool)
    nxt = run_call(up, "1733300000.17", ["4"])  # the next call sends what waited
    assert nxt.variables["RESSENTI_STATUS"] == "stored"
    assert list(spool.glob("*.json")) == []
    assert sorted(e["rating"] for e in events(line["db_path"])[before:]) == [1, 4]
    # Spooled again by mistake (a copy restored): still counted once.
    (spool / "1733300000.16.json").write_text(
        '{"rating": "1", "call_id": "1733300000.16", "question": "overall", "lang": "fr",'
        ' "ts": "2026-12-04T09:00:00.000Z"}')
    import subprocess
    import sys

    from phone_support import AGI_SCRIPT
    flushed = subprocess.run([sys.executable, "-I", "-S", str(AGI_SCRIPT), "--flush"], capture_output=True,
                             text=True, timeout=30, env={"RESSENTI_IVR_CONFIG": str(up)})
    assert flushed.returncode == 0, flushed.stderr
    assert list(spool.glob("*.json")) == []
    assert sorted(e["rating"] for e in events(line["db_path"])[before:]) == [1, 4]


def test_a_caller_who_hangs_up_during_the_question_ends_the_script_cleanly(line, tmp_path):
    config = write_config(tmp_path / "ivr.conf", line["url"], line["token"], tmp_path / "spool")
    before = len(events(line["db_path"]))
    call = run_call(config, "1733300000.18", [HANGUP])
    assert call.returncode == 0, call.stderr
    assert call.after_hangup == [] and call.unknown == []
    assert events(line["db_path"])[before:] == []


def test_without_settings_the_call_goes_on_and_says_why_in_the_log(tmp_path):
    call = run_call(tmp_path / "missing.conf", "1733300000.19", ["3"])
    assert call.returncode == 0 and call.variables["RESSENTI_STATUS"] == "misconfigured"
    assert any("cannot read" in text for text in call.verbose)
