"""Survey links (issue 14): unguessable slugs, one producer each, revocation retires it."""

from __future__ import annotations

import pytest

from collector.db import MIGRATIONS, _m17_survey_links, connect, migrate
from collector.registry import add_site, get_producer
from collector.survey.links import (
    SLUG_ALPHABET,
    SLUG_CHARS,
    LinkError,
    create_link,
    get_link,
    get_link_by_slug,
    is_link_slug,
    list_links,
    revoke_link,
)


@pytest.fixture
def db():
    database = connect(":memory:")
    add_site(database, "mairie", "Mairie")
    add_site(database, "caf", "CAF")
    yield database
    database.close()


def test_a_link_is_a_random_slug_and_a_producer_of_its_channel(db):
    link = create_link(db, "mairie", "web", desk="Accueil état civil", label="Courriel après RDV", by="alice")
    assert len(link.slug) == SLUG_CHARS and set(link.slug) <= set(SLUG_ALPHABET) and is_link_slug(link.slug)
    assert link.path == f"/s/{link.slug}" and link.active and link.created_by == "alice"
    producer = get_producer(db, link.producer)
    assert producer is not None and producer.site == "mairie" and producer.channel == "web" and not producer.retired
    assert get_link_by_slug(db, link.slug) == link == get_link(db, link.id)
    phone = create_link(db, "mairie", "phone")
    assert get_producer(db, phone.producer).channel == "phone"
    assert phone.slug != link.slug
    slugs = {create_link(db, "caf", "web").slug for _ in range(50)}
    assert len(slugs) == 50


def test_links_are_listed_per_site_and_revoked_links_retire_their_producer(db):
    a = create_link(db, "mairie", "web")
    b = create_link(db, "caf", "phone")
    assert [x.id for x in list_links(db)] == [b.id, a.id]  # ordered by site
    assert [x.id for x in list_links(db, "mairie")] == [a.id]
    revoked = revoke_link(db, a.id)
    assert revoked.revoked is not None and not revoked.active
    assert get_producer(db, a.producer).retired
    assert revoke_link(db, a.id).revoked == revoked.revoked  # twice is once
    assert get_link_by_slug(db, a.slug).revoked is not None  # kept: the page says the link ended


@pytest.mark.parametrize("kwargs", [
    {"site": "nowhere", "channel": "web"}, {"site": "mairie", "channel": "touch"},
    {"site": "mairie", "channel": "web", "desk": "x" * 61}, {"site": "mairie", "channel": "web", "label": 5},
    {"site": ["mairie"], "channel": "web"},
])
def test_bad_links_are_refused_with_a_reason(db, kwargs):
    with pytest.raises(LinkError) as refused:
        create_link(db, **kwargs)
    assert str(refused.value)
    assert list_links(db) == []


def test_slugs_that_cannot_be_links_are_not_looked_up(db):
    for slug in ("", "ABCDEFGHJK", "abc", "a" * 11, "../../etc", "iiiiiiiiii", None, 5):
        assert get_link_by_slug(db, slug) is None
    with pytest.raises(LinkError):
        revoke_link(db, 999)


def test_the_migration_runs_twice(db):
    _m17_survey_links(db)  # idempotent: the integrator may renumber and replay it
    assert migrate(db) == len(MIGRATIONS)
