"""Single-use codes: one per team member and ISO week, handed out on paper, never tied to a person.

A code is 12 characters from an alphabet without look-alikes (0/O, 1/I/L): 59 bits, so guessing
an unused one of a team's sheet is out of reach. Only its SHA-256 is stored, with its team, its
week and whether it was used: no time, no address, no answer (answers.py). How the sheets must be
handed out for that to mean anything (drawn from an envelope, not given by name): docs/privacy.md.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlite_utils import Database

from collector.barometer import BarometerError
from collector.barometer.settings import get_settings
from collector.barometer.teams import Team
from collector.barometer.weeks import week_monday
from collector.db import write_transaction

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 12
MAX_SHEET = 200


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise(text: object) -> str:
    """What an agent typed (lower case, spaces, dashes) as the code it is; BarometerError if it cannot be one."""
    raw = "".join(ch for ch in str(text or "").upper() if ch not in " -\t")
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        raise BarometerError("this code is not in the right form: 12 letters and digits, as printed on the slip",
                             "ce code n'a pas la bonne forme : 12 lettres et chiffres, comme sur le papier")
    return raw


def pretty(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def ensure_counters(db: Database, team: Team, week: str) -> None:
    """Every counter of the team's week at 0, created at once in a fixed order: a counter row made by an
    answer would tell, by when it appeared, which rating someone gave."""
    settings = get_settings(db, team.org)
    rows = [(team.id, week, q.id, settings.scale, rating) for q in settings.questions
            for rating in range(1, settings.scale + 1)]
    db.conn.executemany("INSERT INTO barometer_counts (team, week, question, scale, rating, n)"
                        " VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING", rows)
    db.conn.execute("INSERT INTO barometer_responses (team, week, n) VALUES (?, ?, 0) ON CONFLICT DO NOTHING",
                    (team.id, week))


def new_codes(db: Database, team: Team, week: str, count: int) -> list[str]:
    """`count` fresh codes of the team for that week (a sheet); only their hashes are kept."""
    week_monday(week)
    if not isinstance(count, int) or not 1 <= count <= MAX_SHEET:
        raise BarometerError(f"a sheet holds 1 to {MAX_SHEET} codes", f"une feuille compte de 1 à {MAX_SHEET} codes")
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(LENGTH)) for _ in range(count)]
    with write_transaction(db):
        db.conn.executemany("INSERT INTO barometer_codes (hash, team, week, used) VALUES (?, ?, ?, 0)",
                            [(code_hash(c), team.id, week) for c in sorted(codes)])
        ensure_counters(db, team, week)
    return [pretty(c) for c in codes]


def code_stats(db: Database, team_id: str) -> list[tuple[str, int, int]]:
    """(week, codes printed, codes used) of a team, newest first: how many, never which."""
    return [tuple(r) for r in db.conn.execute(
        "SELECT week, COUNT(*), SUM(used) FROM barometer_codes WHERE team = ? GROUP BY week ORDER BY week DESC",
        (team_id,))]
