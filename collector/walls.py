"""Wall display links: a read-only token whose subject is an organisation or a list of sites.

The subject `demo-ville` (an organisation id) shows every site of that
organisation, including sites added later; `mairie,ccas` shows those sites.
An organisation id wins over a site id of the same name.
"""

from __future__ import annotations

from sqlite_utils import Database

from collector.registry import Site, list_sites
from collector.tokens import Token, TokenKind, create_token


def wall_sites(db: Database, subject: str) -> list[Site]:
    sites = list_sites(db)
    if "," not in subject and db["orgs"].count_where("id = ?", [subject]):
        return [s for s in sites if s.org == subject]
    wanted = {s.strip() for s in subject.split(",") if s.strip()}
    return [s for s in sites if s.id in wanted]


def wall_subject(org: str | None, sites: list[str]) -> str:
    if org:
        return org
    if not sites:
        raise ValueError("a wall shows an organisation or at least one site")
    return ",".join(sorted(set(sites)))


def create_wall(db: Database, subject: str, label: str) -> tuple[Token, str]:
    """A new wall token; the secret (the URL's last part) is returned once and never stored."""
    return create_token(db, TokenKind.WALL, subject, label)


def active_walls(db: Database) -> list[dict]:
    return list(db.query("SELECT id, subject, label, created, revoked FROM tokens WHERE kind = ?"
                         " ORDER BY revoked IS NOT NULL, id DESC", [TokenKind.WALL.value]))
