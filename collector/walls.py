"""Wall display links: a read-only token whose subject says, typed, which organisations and sites it shows.

A subject is a comma-separated list of `org:<id>` (every site of that
organisation, including sites added later) and `site:<id>` items, e.g.
`org:demo-ville` or `site:mairie,site:ccas`. Typed, because a bare id was
ambiguous: a wall of site `x` became the wall of organisation `x` the day
that organisation was created (issue 17). Migration 9 typed the old ones.
"""

from __future__ import annotations

import logging

from sqlite_utils import Database

from collector.registry import Site, list_sites
from collector.tokens import Token, TokenKind, create_token
from ressenti.errors import RessentiError

log = logging.getLogger(__name__)

ORG, SITE = "org", "site"


class WallSubjectError(RessentiError, ValueError):
    """A wall's subject is malformed, names an unknown organisation or site, or is an ambiguous bare id."""


def parse_subject(subject: str) -> tuple[set[str], set[str]]:
    """The organisations and the sites of a typed subject."""
    orgs: set[str] = set()
    sites: set[str] = set()
    for item in (part.strip() for part in subject.split(",")):
        kind, sep, value = item.partition(":")
        if not sep or kind not in (ORG, SITE) or not value.strip():
            raise WallSubjectError(f"{item!r} is not org:<id> or site:<id>")
        (orgs if kind == ORG else sites).add(value.strip())
    return orgs, sites


def wall_sites(db: Database, subject: str) -> list[Site]:
    try:
        orgs, wanted = parse_subject(subject)
    except WallSubjectError as exc:
        log.error("a wall token's subject is unreadable, it shows no site: %s", exc)
        return []
    return [s for s in list_sites(db) if s.org in orgs or s.id in wanted]


def wall_subject(org: str | None, sites: list[str]) -> str:
    """The subject of an organisation's wall, or of a list of sites'."""
    if org:
        return f"{ORG}:{org}"
    if not sites:
        raise WallSubjectError("a wall shows an organisation or at least one site")
    return ",".join(f"{SITE}:{s}" for s in sorted(set(sites)))


def resolve_subject(db: Database, text: str) -> str:
    """What a person typed (CLI, API) as a typed subject of existing organisations and sites.

    `org:x` and `site:x` must exist. A bare `x` is accepted when it names only an organisation or
    only a site, and refused when it names both (say which) or neither.
    """
    items = [part.strip() for part in text.split(",") if part.strip()]
    if not items:
        raise WallSubjectError("a wall shows an organisation or at least one site: org:<id> or site:<id>")
    orgs = {row["id"] for row in db.query("SELECT id FROM orgs")}
    sites = {s.id for s in list_sites(db)}
    typed = []
    for item in items:
        kind, sep, value = item.partition(":")
        if sep:
            if kind not in (ORG, SITE) or not value:
                raise WallSubjectError(f"{item!r}: write org:<id> or site:<id>")
            if value not in (orgs if kind == ORG else sites):
                raise WallSubjectError(f"{item!r}: there is no {'organisation' if kind == ORG else 'site'} {value!r}")
            typed.append(item)
        elif item in orgs and item in sites:
            raise WallSubjectError(f"{item!r} is both an organisation and a site: write org:{item} or site:{item}")
        elif item in orgs:
            typed.append(f"{ORG}:{item}")
        elif item in sites:
            typed.append(f"{SITE}:{item}")
        else:
            raise WallSubjectError(
                f"{item!r} is no organisation or site here (organisations: {', '.join(sorted(orgs)) or 'none'};"
                f" sites: {', '.join(sorted(sites)) or 'none'})")
    return ",".join(dict.fromkeys(typed))


def create_wall(db: Database, subject: str, label: str) -> tuple[Token, str]:
    """A new wall token (subject as `resolve_subject` takes it); the secret (the URL's last part) is
    returned once and never stored."""
    return create_token(db, TokenKind.WALL, resolve_subject(db, subject), label)


def active_walls(db: Database) -> list[dict]:
    return list(db.query("SELECT id, subject, label, created, revoked FROM tokens WHERE kind = ?"
                         " ORDER BY revoked IS NOT NULL, id DESC", [TokenKind.WALL.value]))
