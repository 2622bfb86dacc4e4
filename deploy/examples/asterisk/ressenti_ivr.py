#!/usr/bin/env python3
"""Asterisk AGI: ask the caller "tapez 1 à 4" after a call and post the key to the ressenti collector.

Python standard library only: it runs on the IPBX, not on the collector.
Install it in /var/lib/asterisk/agi-bin/ and call it from the dialplan
(extensions.conf in this folder):

    same => n,AGI(ressenti_ivr.py,overall,fr)

Arguments (both optional): the question id (default `overall`) and the
language of the prompts (default: the channel's, else `fr`).

Settings are read from /etc/asterisk/ressenti-ivr.conf (or the file named by
RESSENTI_IVR_CONFIG), an INI file with a [ressenti] section:

    url = https://avis.example.fr        the collector
    token = rst_source_...               the phone source's token (keep the file 0640 root:asterisk)
    scale = 4                            keys 1..scale are ratings (the site's scale)
    spool = /var/spool/asterisk/ressenti answers kept while the collector is unreachable
    timeout_s = 3                        how long the caller waits for the collector, at most
    wait_ms = 6000                       how long the caller has to press a key
    attempts = 2                         how many times the question is asked after a wrong key
    sounds = ressenti                    folder of the prompts under the sounds dir (see README.md)

Nothing about the caller (number, name) is sent: only the key, the call's
unique id (so a retried post is counted once), the question and the time.

Outcome in the channel variable RESSENTI_STATUS: stored, duplicate,
spooled (collector unreachable: kept and sent later), refused (the collector
said why, in the Asterisk log), no-answer, hangup, or misconfigured.

`ressenti_ivr.py --flush` (from cron, as the asterisk user) sends the spooled answers.
Docs: docs/phone.md in the ressenti repository.
"""

from __future__ import annotations

import configparser
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

DEFAULT_CONFIG = "/etc/asterisk/ressenti-ivr.conf"
DEFAULTS = {"url": "", "token": "", "scale": "4", "spool": "/var/spool/asterisk/ressenti", "timeout_s": "3",
            "wait_ms": "6000", "attempts": "2", "sounds": "ressenti"}
FLUSH_AT_MOST = 50  # spooled answers sent after one call: the caller has hung up, but the AGI still runs


class Hangup(Exception):
    """The caller hung up: Asterisk said so, or closed our stdin."""


class AGI:
    """The AGI protocol on stdin/stdout: `agi_*` variables, then one command per line, one `200 result=` reply."""

    def __init__(self, stdin=sys.stdin, stdout=sys.stdout) -> None:
        self.stdin, self.stdout = stdin, stdout
        self.env: dict[str, str] = {}
        self.hung_up = False
        while True:
            line = self.stdin.readline()
            if not line:
                raise Hangup("stdin closed before the AGI variables ended")
            line = line.rstrip("\r\n")
            if not line:
                break
            key, _, value = line.partition(":")
            self.env[key.strip()] = value.strip()

    def _reply(self) -> str:
        while True:
            line = self.stdin.readline()
            if not line:
                raise Hangup("stdin closed")
            line = line.rstrip("\r\n")
            if line == "HANGUP":  # AGISIGHUP=no: Asterisk writes this line instead of a signal
                self.hung_up = True
                continue
            if line.startswith("520-"):  # "usage follows", up to "520 End of proper usage."
                while line and not line.startswith("520 "):
                    line = self.stdin.readline().rstrip("\r\n")
                return "520"
            return line

    def command(self, *words: str) -> tuple[int, str, str]:
        """Send a command; return (code, result, rest): `200 result=3 (timeout)` -> (200, '3', '(timeout)')."""
        self.stdout.write(" ".join(words) + "\n")
        self.stdout.flush()
        line = self._reply()
        code_text, _, tail = line.partition(" ")
        code = int(code_text) if code_text.isdigit() else 0
        if code == 511:  # "Command Not Permitted on a dead channel"
            raise Hangup(line)
        result, rest = "", tail
        if tail.startswith("result="):
            result, _, rest = tail[len("result="):].partition(" ")
        return code, result, rest.strip()

    def verbose(self, message: str, level: int = 1) -> None:
        text = message.replace('"', "'").replace("\n", " ")
        self.command("VERBOSE", f'"ressenti: {text}"', str(level))

    def set_variable(self, name: str, value: str) -> None:
        self.command("SET", "VARIABLE", name, f'"{value}"')

    def stream_file(self, sound: str) -> None:
        code, result, _ = self.command("STREAM", "FILE", sound, '""')
        if code == 200 and result == "-1":
            raise Hangup(f"stream {sound}")

    def get_data(self, sound: str, wait_ms: int) -> str | None:
        """One key (None: no key in time); Hangup if the caller hung up."""
        code, result, rest = self.command("GET", "DATA", sound, str(wait_ms), "1")
        if code != 200:
            raise RuntimeError(f"GET DATA answered {code} {result} {rest}")
        if result == "-1":
            raise Hangup("during GET DATA")
        return result or None


def read_settings(path: str) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path, encoding="utf-8"):
        raise ValueError(f"cannot read {path}")
    if not parser.has_section("ressenti"):
        raise ValueError(f"{path} has no [ressenti] section")
    settings = {**DEFAULTS, **dict(parser.items("ressenti"))}
    if not settings["url"] or not settings["token"]:
        raise ValueError(f"{path}: url and token are required")
    return settings


def post_answer(settings: dict[str, str], answer: dict[str, str]) -> tuple[int | None, str]:
    """POST the answer to the collector: (HTTP status, reason) or (None, why it could not be reached)."""
    request = urllib.request.Request(
        settings["url"].rstrip("/") + "/api/v1/ivr", data=urllib.parse.urlencode(answer).encode(), method="POST",
        headers={"Authorization": f"Bearer {settings['token']}",
                 "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=float(settings["timeout_s"])) as response:
            return response.status, json.loads(response.read() or b"{}").get("error", "")
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read() or b"{}").get("error", exc.reason)
        except ValueError:
            reason = str(exc.reason)
        return exc.code, str(reason)
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, TLS, not JSON
        return None, str(getattr(exc, "reason", exc))


def must_retry(status: int | None) -> bool:
    """Worth keeping for later: the collector was unreachable, overloaded, or broken for a while."""
    return status is None or status == 429 or status >= 500


def spool_answer(settings: dict[str, str], answer: dict[str, str]) -> Path:
    folder = Path(settings["spool"])
    folder.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in answer["call_id"])
    path = folder / f"{name}.json"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(answer), encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a file
    return path


def flush_spool(settings: dict[str, str], log=print, at_most: int = FLUSH_AT_MOST) -> int:
    """Send spooled answers, oldest first; stop at the first that must wait again. Return how many left the spool."""
    folder = Path(settings["spool"])
    if not folder.is_dir():
        return 0
    done = 0
    for path in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)[:at_most]:
        try:
            answer = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log(f"spooled {path.name} unreadable ({exc}): moved aside")
            path.rename(path.with_suffix(".bad"))
            continue
        status, reason = post_answer(settings, answer)
        if must_retry(status):
            break
        if status >= 400:
            log(f"spooled answer of call {answer.get('call_id')} refused: {status} {reason}")
        path.unlink()
        done += 1
    return done


def ask(agi: AGI, settings: dict[str, str], lang: str) -> int | None:
    """The key pressed, checked against the scale; None when the caller pressed nothing."""
    sounds, scale = settings["sounds"].rstrip("/"), int(settings["scale"])
    for attempt in range(int(settings["attempts"]) + 1):
        key = agi.get_data(f"{sounds}/{lang}/question", int(settings["wait_ms"]))
        if key is None:
            return None
        if key.isdigit() and 1 <= int(key) <= scale:
            return int(key)
        agi.verbose(f"key {key!r} is not 1 to {scale} (attempt {attempt + 1})", 3)
        agi.stream_file(f"{sounds}/{lang}/invalid")
    return None


def run_call(agi: AGI, config_path: str) -> str:
    """One call's survey; returns the status also put in RESSENTI_STATUS."""
    try:
        settings = read_settings(config_path)
    except ValueError as exc:
        agi.verbose(f"not configured: {exc}")
        return "misconfigured"
    question = agi.env.get("agi_arg_1") or "overall"
    lang = agi.env.get("agi_arg_2") or agi.env.get("agi_language", "fr")[:2] or "fr"
    if lang not in ("fr", "en"):
        lang = "fr"
    call_id = agi.env.get("agi_uniqueid", "")
    key = ask(agi, settings, lang)
    if key is None:
        return "no-answer"
    answer = {"rating": str(key), "call_id": call_id, "question": question, "lang": lang,
              "ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")}  # noqa: UP017 (IPBX may run Python < 3.11)
    status, reason = post_answer(settings, answer)
    if must_retry(status):
        spool_answer(settings, answer)
        agi.verbose(f"collector unreachable ({status or reason}): answer of {call_id} spooled")
        outcome = "spooled"
    elif status >= 400:
        agi.verbose(f"collector refused the answer of {call_id}: {status} {reason}")
        outcome = "refused"
    else:
        outcome = "duplicate" if status == 200 else "stored"
    try:
        agi.stream_file(f"{settings['sounds'].rstrip('/')}/{lang}/thanks")
    except Hangup:
        pass  # counted already; a caller who hangs up before "merci" is fine
    if outcome != "spooled":
        flush_spool(settings, log=lambda text: agi.verbose(text, 2))
    return outcome


def main(argv: list[str]) -> int:
    config_path = os.environ.get("RESSENTI_IVR_CONFIG", DEFAULT_CONFIG)
    if argv[1:2] == ["--flush"]:
        settings = read_settings(config_path)
        sent = flush_spool(settings, at_most=10_000, log=lambda text: print(text, file=sys.stderr))
        print(f"{sent} spooled answers sent", file=sys.stderr)
        return 0
    # Asterisk signals a hangup with SIGHUP, which would end the script between the key and its post:
    # the dead channel's 511 replies and `result=-1` say the same, at a moment that suits.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        agi = AGI()
    except Hangup:
        return 0
    started = time.monotonic()
    try:
        outcome = run_call(agi, config_path)
    except Hangup:
        return 0  # nothing more can be said to this channel
    try:
        agi.set_variable("RESSENTI_STATUS", outcome)
        agi.verbose(f"{outcome} in {time.monotonic() - started:.1f} s", 3)
    except Hangup:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
