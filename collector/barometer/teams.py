"""Teams: a reception point or a group of sites of one organisation, answering together.

A team's id is the last part of its staff page (`/equipe/<id>`). Agents answer for their team,
never for a site of it: a team of three sites shows one set of figures, with no breakdown by site.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from collector.barometer import BarometerError
from collector.registry import Site, get_site
from ressenti.protocol import format_ts, is_slug, utc_now

MAX_NAME = 120


@dataclass(frozen=True)
class Team:
    id: str
    org: str
    name: str
    site_ids: tuple[str, ...]

    def sites(self, db: Database) -> list[Site]:
        return [s for s in (get_site(db, i) for i in self.site_ids) if s is not None]


def _team(row: tuple) -> Team:
    return Team(row[0], row[1], row[2], tuple(json.loads(row[3])))


def get_team(db: Database, team_id: str) -> Team | None:
    row = db.conn.execute("SELECT id, org, name, sites FROM barometer_teams WHERE id = ?", (team_id,)).fetchone()
    return _team(row) if row else None


def list_teams(db: Database, org: str | None = None) -> list[Team]:
    where, params = ("WHERE org = ?", (org,)) if org else ("", ())
    return [_team(r) for r in db.conn.execute(f"SELECT id, org, name, sites FROM barometer_teams {where}"
                                              " ORDER BY org, name", params)]


def save_team(db: Database, team_id: str, name: str, site_ids: list[str] | tuple[str, ...]) -> Team:
    """Create a team, or change its name and sites; its sites are of one organisation."""
    if not is_slug(team_id):
        raise BarometerError(f"team id {str(team_id)[:40]!r} must be lower-case letters, digits and '-'",
                             f"l'identifiant d'équipe {str(team_id)[:40]!r} : lettres minuscules, chiffres et '-'")
    name = " ".join(str(name or "").split())
    if not name or len(name) > MAX_NAME:
        raise BarometerError(f"a team's name is a text of 1 to {MAX_NAME} characters",
                             f"le nom d'une équipe compte de 1 à {MAX_NAME} caractères")
    ids = sorted(set(site_ids))
    if not ids:
        raise BarometerError("a team needs at least one site", "une équipe compte au moins un site")
    sites = [get_site(db, i) for i in ids]
    missing = [i for i, s in zip(ids, sites, strict=True) if s is None]
    if missing:
        raise BarometerError(f"no site {missing[0][:40]!r}", f"aucun site {missing[0][:40]!r}")
    orgs = {s.org for s in sites if s is not None}
    if len(orgs) != 1:
        raise BarometerError("a team's sites belong to one organisation",
                             "les sites d'une équipe appartiennent à une seule organisation")
    org = orgs.pop()
    before = get_team(db, team_id)
    if before is not None and before.org != org:
        raise BarometerError(f"team {team_id} belongs to {before.org}; its sites stay there",
                             f"l'équipe {team_id} appartient à {before.org}")
    db.conn.execute("INSERT INTO barometer_teams (id, org, name, sites, created) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (id) DO UPDATE SET name = excluded.name, sites = excluded.sites",
                    (team_id, org, name, json.dumps(ids), format_ts(utc_now())))
    team = get_team(db, team_id)
    assert team is not None
    return team
