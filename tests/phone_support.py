"""Asterisk's side of the AGI protocol, to drive deploy/examples/asterisk/ressenti_ivr.py as Asterisk would.

The script runs as a real subprocess; this peer writes the `agi_*` variables
and a blank line on its stdin, then reads one command per line from its
stdout and answers each as res_agi.c does (`200 result=...`, `510` for an
unknown command, `511` once the channel is dead). The keys the caller
presses are given in advance: a digit or `*`/`#`, None for no key before the
timeout, "hangup" for a caller who hangs up during the question.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AGI_SCRIPT = ROOT / "deploy" / "examples" / "asterisk" / "ressenti_ivr.py"
HANGUP = "hangup"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine"


def agi_environment(uniqueid: str, args: tuple[str, ...] = (), language: str = "fr") -> list[str]:
    """The variables Asterisk writes first (res_agi.c setup_env), in its order."""
    variables = [
        ("agi_request", "ressenti_ivr.py"), ("agi_channel", "PJSIP/trunk-00000012"), ("agi_language", language),
        ("agi_type", "PJSIP"), ("agi_uniqueid", uniqueid), ("agi_version", "20.5.0"),
        ("agi_callerid", "0612345678"), ("agi_calleridname", "Jeanne Martin"), ("agi_callingpres", "0"),
        ("agi_callingani2", "0"), ("agi_callington", "0"), ("agi_callingtns", "0"), ("agi_dnid", "0140000000"),
        ("agi_rdnis", "unknown"), ("agi_context", "ressenti-survey"), ("agi_extension", "s"),
        ("agi_priority", "2"), ("agi_enhanced", "0.0"), ("agi_accountcode", ""), ("agi_threadid", "140245"),
    ]
    variables += [(f"agi_arg_{i}", value) for i, value in enumerate(args, 1)]
    return [f"{k}: {v}" for k, v in variables]


@dataclass
class Call:
    """What the script did during one call."""

    commands: list[list[str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    verbose: list[str] = field(default_factory=list)
    streamed: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    after_hangup: list[str] = field(default_factory=list)
    returncode: int | None = None
    stderr: str = ""


def run_call(config: Path, uniqueid: str, keys: list[str | None], *, args: tuple[str, ...] = (),
             python_flags: tuple[str, ...] = ("-I", "-S"), timeout: float = 30) -> Call:
    """One call: the script started as Asterisk starts it, answered command by command.

    `-I -S` (isolated, no site-packages): the script must run on an IPBX with nothing but Python.
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RESSENTI_IVR_CONFIG": str(config)}
    process = subprocess.Popen([sys.executable, *python_flags, str(AGI_SCRIPT)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, bufsize=1)
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    call, pending, dead = Call(), list(keys), False
    assert process.stdin and process.stdout and process.stderr
    try:
        process.stdin.write("\n".join(agi_environment(uniqueid, args)) + "\n\n")
        process.stdin.flush()
        for line in process.stdout:
            words = shlex.split(line.strip())
            call.commands.append(words)
            if dead:
                call.after_hangup.append(line.strip())
                reply = DEAD
            else:
                reply = _answer(call, words, pending)
                dead = reply == "200 result=-1"
            process.stdin.write(reply + "\n")
            process.stdin.flush()
    except BrokenPipeError:
        pass
    finally:
        timer.cancel()
        call.returncode = process.wait(10)
        call.stderr = process.stderr.read()
        for stream in (process.stdin, process.stdout, process.stderr):
            try:
                stream.close()
            except BrokenPipeError:
                pass
    return call


def _answer(call: Call, words: list[str], keys: list[str | None]) -> str:
    upper = [w.upper() for w in words[:2]]
    if upper == ["GET", "DATA"] and len(words) in (3, 4, 5):
        call.asked.append(words[2])
        key = keys.pop(0) if keys else None
        if key == HANGUP:
            return "200 result=-1"
        return "200 result= (timeout)" if key is None else f"200 result={key}"
    if upper == ["STREAM", "FILE"] and len(words) in (4, 5):
        call.streamed.append(words[2])
        return "200 result=0 endpos=16000"
    if upper == ["SET", "VARIABLE"] and len(words) == 4:
        call.variables[words[2]] = words[3]
        return "200 result=1"
    if upper[:1] == ["VERBOSE"] and len(words) in (2, 3):
        call.verbose.append(words[1])
        return "200 result=1"
    call.unknown.append(" ".join(words))
    return "510 Invalid or unknown command"
