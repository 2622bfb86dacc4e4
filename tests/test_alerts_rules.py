"""Issue 12: alert rules are checked before they are stored; the message names the field, in French and English."""

from __future__ import annotations

import pytest

from collector.alerts.rules import AlertRuleError, Kind, defaults
from collector.alerts.store import create_rule, delete_rule, effective_rules, list_rules, update_rule
from collector.db import MIGRATIONS, connect, migrate
from collector.registry import add_site, list_sites


@pytest.fixture
def db(tmp_path):
    db = connect(tmp_path / "rules.db")
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "annexe", "Annexe", org="ville")
    add_site(db, "ailleurs", "Ailleurs", org="autre")
    yield db
    db.close()


@pytest.mark.parametrize(("kind", "scope", "params", "field", "fr"), [
    ("unhappy_share", "site:mairie", {"window_min": 0}, "window_min", "fenêtre glissante (minutes) : 0 n'est pas"),
    ("unhappy_share", "site:mairie", {"share_pct": 150}, "share_pct", "150 n'est pas entre 1 et 100"),
    ("unhappy_share", "site:mairie", {"share_pct": 2 ** 70}, "share_pct", "n'est pas entre 1 et 100"),
    ("unhappy_share", "site:mairie", {"share_pct": "beaucoup"}, "share_pct", "un nombre entier est attendu"),
    ("unhappy_share", "site:mairie", {"share_pct": True}, "share_pct", "un nombre entier est attendu"),
    ("unhappy_share", "site:mairie", {"share_pct": 0.5}, "share_pct", "un nombre entier est attendu"),
    ("unhappy_share", "site:mairie", {"agent": "dupont"}, "agent", "paramètre inconnu"),
    ("unhappy_share", "site:nowhere", {}, "scope", "le site 'nowhere' n'existe pas"),
    ("unhappy_share", "org:nowhere", {}, "scope", "l'organisation 'nowhere' n'existe pas"),
    ("unhappy_share", "desk:3", {}, "scope", "la portée doit être all, org:<id> ou site:<id>"),
    ("ranking_of_agents", "all", {}, "kind", "type d'alerte inconnu"),
    ("kiosk_offline", "all", {"after_min": -5}, "after_min", "n'est pas entre 5 et"),
    ("silence", "all", [1, 2], "params", "les paramètres doivent être un objet"),
])
def test_bad_rules_are_refused_with_a_message_naming_the_field(db, kind, scope, params, field, fr):
    with pytest.raises(AlertRuleError) as refused:
        create_rule(db, kind, scope, params)
    assert refused.value.field == field
    assert fr in refused.value.fr
    assert field in str(refused.value)
    assert list_rules(db) == []


def test_one_rule_per_kind_and_scope_and_updates_are_checked_too(db):
    rule = create_rule(db, "unhappy_share", "org:ville", {"share_pct": 60}, created_by="alice")
    assert rule["params"] == {**defaults(Kind.UNHAPPY_SHARE), "share_pct": 60}
    with pytest.raises(AlertRuleError, match="already exists"):
        create_rule(db, "unhappy_share", "org:ville")
    with pytest.raises(AlertRuleError, match="not between"):
        update_rule(db, rule["id"], {"params": {"window_min": 0}})
    with pytest.raises(AlertRuleError, match="scope cannot be changed"):
        update_rule(db, rule["id"], {"scope": "all"})
    assert update_rule(db, rule["id"], {"params": {"min_count": 10}, "enabled": False})["params"]["share_pct"] == 60
    assert update_rule(db, 99999, {"enabled": True}) is None
    assert delete_rule(db, rule["id"]) and not delete_rule(db, rule["id"])


def test_the_most_specific_rule_applies_and_every_site_has_the_defaults_otherwise(db):
    create_rule(db, "unhappy_share", "all", {"share_pct": 70})
    create_rule(db, "unhappy_share", "org:ville", {"share_pct": 60})
    site_rule = create_rule(db, "unhappy_share", "site:mairie", enabled=False)
    effective = effective_rules(db, list_sites(db))
    shares = {site: e.params["share_pct"] for site, e in effective[Kind.UNHAPPY_SHARE].items()}
    assert shares == {"annexe": 60, "ailleurs": 70}, "mairie has the kind turned off"
    assert all(e.rule_id is None and e.params == defaults(Kind.SILENCE) for e in effective[Kind.SILENCE].values())
    delete_rule(db, site_rule["id"])
    assert effective_rules(db, list_sites(db))[Kind.UNHAPPY_SHARE]["mairie"].params["share_pct"] == 60


def test_the_alerts_migration_can_run_again(db):
    migrate(db)
    step = next(m for m in MIGRATIONS if m.__name__.endswith("_alerts"))
    step(db)  # idempotent: the integrator may reorder it among other engineers' steps
    assert {"alert_rules", "alerts", "alert_comments", "alert_changes", "alert_watch"} <= set(db.table_names())
