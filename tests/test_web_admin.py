"""Admin pages: registry forms, wall links, users, and kiosk settings pushed to a real kiosk over Mosquitto."""

from __future__ import annotations

import html
import re

import pytest
from web_support import PASSWORD, login, post_form, quick_user

from collector.config_push import push_settings
from collector.db import connect
from collector.registry import get_site, list_kiosks
from collector.users import find_user
from ressenti.errors import BadFollowup
from ressenti.protocol import KioskSettings


@pytest.fixture
def admin(client, app):
    db = connect(app.config["DATABASE"])
    quick_user(db, "alice", "admin")
    db.close()
    login(client, "alice")
    return client


def flashes(response) -> str:
    return html.unescape(" ".join(re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', response.get_data(as_text=True))))


def test_sites_and_kiosks_through_the_forms(admin, app):
    saved = post_form(admin, "/admin/sites", "/admin/sites", {
        "id": "mairie", "name": "Mairie", "org": "ville", "tz": "Europe/Paris", "scale": "3",
        "hours_mon": "08:30-12:00,13:30-17:00", "hours_tue": "08:30-12:00"})
    assert saved.status_code == 302
    db = connect(app.config["DATABASE"])
    site = get_site(db, "mairie")
    assert site.scale == 3 and site.org == "ville" and len(site.opening_hours["mon"]) == 2
    assert "wed" not in site.opening_hours, "an empty day is closed"
    edit = admin.get("/admin/sites?edit=mairie").get_data(as_text=True)
    assert 'value="08:30-12:00,13:30-17:00"' in edit
    bad = post_form(admin, "/admin/sites", "/admin/sites", {"id": "Mairie Deux", "name": "Deux"})
    assert bad.status_code == 400
    assert field_error(bad, "id") == "Identifiant : minuscules, chiffres et tirets, par ex. mairie-centre."
    assert 'value="Mairie Deux"' in bad.get_data(as_text=True), "what was typed is kept"

    refused = post_form(admin, "/admin/kiosks", "/admin/kiosks", {"id": "Borne 1", "site": "nowhere", "name": "Entrée"})
    assert refused.status_code == 400 and 'value="Entrée"' in refused.get_data(as_text=True)
    assert (field_error(refused, "id"), field_error(refused, "site")) == (
        "Identifiant : minuscules, chiffres et tirets, par ex. mairie-centre.", "Choisissez un site de la liste.")
    post_form(admin, "/admin/kiosks", "/admin/kiosks", {"id": "borne-1", "site": "mairie", "name": "Entrée"})
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "annexe", "name": "Annexe", "org": "ville"})
    post_form(admin, "/admin/kiosks", "/admin/kiosks/borne-1/move", {"site": "annexe"})
    post_form(admin, "/admin/kiosks", "/admin/kiosks/borne-1/retire", {})
    [kiosk] = list_kiosks(db)
    assert kiosk["site"] == "annexe" and kiosk["retired"]


def field_error(response, name: str) -> str | None:
    """The message shown next to a form field, if any."""
    match = re.search(rf'<p class="field-error" id="err-{name}">(.*?)</p>', response.get_data(as_text=True))
    return html.unescape(match.group(1)) if match else None


@pytest.mark.parametrize(("typed", "stored"), [
    ("8h30-12h", "08:30-12:00"), ("8h30 – 12h00", "08:30-12:00"), ("14h-17h30", "14:00-17:30"),
    ("8h30-12h, 14h-17h30", "08:30-12:00,14:00-17:30"), ("08:30-12:00", "08:30-12:00"), ("9 h - 12 h", "09:00-12:00"),
])
def test_opening_hours_take_french_time_formats(admin, app, typed, stored):
    saved = post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie", "hours_mon": typed})
    assert saved.status_code == 302, field_error(saved, "hours_mon")
    edit = admin.get("/admin/sites?edit=mairie").get_data(as_text=True)
    assert f'name="hours_mon" value="{stored}"' in edit


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("hours_tue", "8h-25h", "Horaires non compris. Écrivez par ex. 8h30-12h, 14h-17h30."),
    ("hours_tue", "12h-8h", "Horaires non compris. Écrivez par ex. 8h30-12h, 14h-17h30."),
    ("hours_tue", "le matin", "Horaires non compris. Écrivez par ex. 8h30-12h, 14h-17h30."),
    ("tz", "Paris", "Fuseau horaire inconnu : écrivez par ex. Europe/Paris ou America/Cayenne."),
    ("tz", "x" * 300, "Fuseau horaire inconnu : écrivez par ex. Europe/Paris ou America/Cayenne."),
    ("scale", "6", "3, 4 ou 5 visages."),
    ("scale", str(10**30), "3, 4 ou 5 visages."),
    ("org", "Ma Ville", "Organisation : minuscules, chiffres et tirets, par ex. mairie-centre."),
])
def test_a_refused_site_form_says_why_next_to_the_field_and_keeps_what_was_typed(admin, app, field, typed, message):
    form = {"id": "mairie", "name": "Mairie du centre", "hours_mon": "8h30-12h", field: typed}
    refused = post_form(admin, "/admin/sites", "/admin/sites", form)
    assert refused.status_code == 400
    assert field_error(refused, field) == message
    page = html.unescape(refused.get_data(as_text=True))
    assert f'value="{typed}"' in page or f'value="{typed}" selected' in page or field == "scale"
    assert 'value="Mairie du centre"' in page and 'value="8h30-12h"' in page, "the other fields are kept as typed"
    assert get_site(connect(app.config["DATABASE"]), "mairie") is None


def test_wall_links_are_shown_once_and_can_be_revoked(admin, app):
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie", "org": "ville"})
    made = post_form(admin, "/admin/walls", "/admin/walls", {"label": "Salle de pause", "sites": ["mairie"]})
    assert made.status_code == 201
    url = re.search(r'value="(http://localhost/wall/[^"]+)" data-testid="new-wall-url"', made.get_data(as_text=True))
    path = url.group(1).removeprefix("http://localhost")
    assert admin.get(path).status_code == 200
    listing = admin.get("/admin/walls").get_data(as_text=True)
    assert path.rsplit("/", 1)[1] not in listing, "the secret is never shown again"
    token_id = re.search(r'action="/admin/walls/(\d+)/revoke"', listing).group(1)
    revoked = post_form(admin, "/admin/walls", f"/admin/walls/{token_id}/revoke", {})
    assert "révoqué" in flashes(admin.get(revoked.headers["Location"])).lower()
    assert admin.get(path).status_code == 410


def test_users_page_adds_a_scoped_manager(admin, app):
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie", "org": "ville"})
    post_form(admin, "/admin/users", "/admin/users", {"login": "manon", "password": PASSWORD, "role": "manager",
                                                      "scope": ["site:mairie"]})
    db = connect(app.config["DATABASE"])
    assert find_user(db, "manon").scope == ("site:mairie",)
    refused = post_form(admin, "/admin/users", "/admin/users", {"login": "max", "password": PASSWORD,
                                                                "role": "manager"})
    assert refused.status_code == 400
    assert field_error(refused, "scope") == "Choisissez un périmètre : tous les sites, une organisation ou un site."
    page = refused.get_data(as_text=True)
    assert 'name="login" required autocomplete="off" value="max"' in page and '"manager" selected' in page
    assert PASSWORD not in page, "the password is never sent back"
    short = post_form(admin, "/admin/users", "/admin/users", {"login": "m", "password": "court", "role": "boss",
                                                              "scope": ["site:mairie"]})
    assert (field_error(short, "login"), field_error(short, "password"), field_error(short, "role")) == (
        "De 2 à 64 lettres, chiffres ou . _ @ -", "Au moins 10 caractères.", "Choisissez un rôle de la liste.")
    assert 'value="site:mairie" checked' in short.get_data(as_text=True)
    taken = post_form(admin, "/admin/users", "/admin/users", {"login": "manon", "password": PASSWORD})
    assert field_error(taken, "login") == "Cet identifiant existe déjà."
    manon = find_user(db, "manon")
    post_form(admin, "/admin/users", f"/admin/users/{manon.id}/disabled", {})
    assert find_user(db, "manon").disabled


def test_config_push_without_a_broker_says_so(admin, app):
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie"})
    post_form(admin, "/admin/kiosks", "/admin/kiosks", {"id": "borne-1", "site": "mairie"})
    page = admin.get("/admin/config?site=mairie").get_data(as_text=True)
    assert "RESSENTI_BROKER_URL" in page
    pushed = post_form(admin, "/admin/config?site=mairie", "/admin/config", {
        "site": "mairie", "target": "site", "scale": "4", "question_fr": "Alors ?", "response_interval_s": "4"})
    assert "nothing was pushed" in flashes(admin.get(pushed.headers["Location"]))



def test_a_followup_the_kiosks_would_refuse_is_not_pushed(admin, mocker):
    """The collector checks the follow-up as the kiosks do (ressenti.protocol.parse_followup)."""
    bad = {"id": "why", "when_rating_at_most": 2, "question": {"fr": "Pourquoi ?"},
           "choices": [{"id": "wait", "fr": "Attente"}, {"id": "other", "fr": "Autre"}]}
    mocker.patch("collector.web.admin_config.build_followup", return_value=bad)
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie"})
    post_form(admin, "/admin/kiosks", "/admin/kiosks", {"id": "borne-1", "site": "mairie"})
    pushed = post_form(admin, "/admin/config?site=mairie", "/admin/config", {
        **FOLLOWUP, "site": "mairie", "target": "site", "scale": "4", "question_fr": "Alors ?",
        "response_interval_s": "4"})
    message = flashes(admin.get(pushed.headers["Location"]))
    assert "Question complémentaire refusée, rien n'a été envoyé" in message
    assert "followup choices must be a list of 3 to 6 choices" in message


@pytest.mark.parametrize(("field", "typed", "message"), [
    ("question_fr", "", "Une question en français de 1 à 120 caractères."),
    ("response_interval_s", "NaN", "Un nombre de secondes de 0 à 3600."),
    ("response_interval_s", str(10**30), "Un nombre de secondes de 0 à 3600."),
    ("scale", "9", "3, 4 ou 5 visages."),
    ("when_rating_at_most", "4", "Une note de 1 à 3."),
    ("followup_timeout_s", "0", "De 3 à 120 secondes."),
    ("choice_1_id", "Réponse", "Identifiant : minuscules, chiffres et tirets, différent des autres."),
    ("choice_1_id", "wait", "Identifiant : minuscules, chiffres et tirets, différent des autres."),
    ("choice_2_fr", "x" * 41, "Un libellé français de 1 à 40 caractères."),
])
def test_a_refused_settings_form_says_why_next_to_the_field(admin, field, typed, message):
    post_form(admin, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie"})
    post_form(admin, "/admin/kiosks", "/admin/kiosks", {"id": "borne-1", "site": "mairie"})
    form = {**FOLLOWUP, "site": "mairie", "target": "site", "scale": "4", "question_fr": "Alors ?",
            "response_interval_s": "4", field: typed}
    refused = post_form(admin, "/admin/config?site=mairie", "/admin/config", form)
    assert refused.status_code == 400 and field_error(refused, field) == message
    page = html.unescape(refused.get_data(as_text=True))
    assert 'value="Temps d\'attente"' in page and 'value="Qu\'est-ce qui n\'a pas été ?"' in page, "typed values kept"


def test_push_settings_refuses_a_bad_followup_before_the_broker(mocker):
    client = mocker.Mock()
    client.is_connected.return_value = True
    settings = KioskSettings(scale=3, followup={"id": "why", "when_rating_at_most": 3})
    with pytest.raises(BadFollowup, match="when_rating_at_most 3 must be an integer from 1 to 2"):
        push_settings(connect(":memory:"), client, [("borne-1", "mairie")], settings, "alice")
    client.publish.assert_not_called()


FOLLOWUP = {"followup_enabled": "1", "followup_fr": "Qu'est-ce qui n'a pas été ?", "followup_en": "What went wrong?",
            "when_rating_at_most": "2", "followup_timeout_s": "15",
            "choice_0_id": "wait", "choice_0_fr": "Temps d'attente", "choice_0_en": "Waiting time",
            "choice_1_id": "answer", "choice_1_fr": "Réponse apportée", "choice_1_en": "The answer",
            "choice_2_id": "welcome", "choice_2_fr": "Accueil", "choice_2_en": "Welcome"}


@pytest.mark.mosquitto
def test_settings_are_pushed_retained_and_the_fleet_shows_who_applied_them(collector_stack, kiosk_factory,
                                                                           mosquitto, wait):
    collector_stack.register("borne-1")
    collector_stack.register("borne-2")
    collector_stack.start()
    app = collector_stack.web.app
    app.config["SESSION_COOKIE_SECURE"] = False  # the test client speaks plain http
    db = connect(collector_stack.db_path)
    quick_user(db, "alice", "admin")
    client = app.test_client()
    login(client, "alice")
    first = kiosk_factory("borne-1", mosquitto.address)
    wait(first.link.connected.is_set, what="kiosk connected")
    wait(lambda: app.extensions["ressenti_live"].client.is_connected(), what="web connected to the broker")

    form = {"site": "mairie", "target": "site", "scale": "4", "question_fr": "Comment s'est passé votre accueil ?",
            "question_en": "How was your visit?", "response_interval_s": "6", **FOLLOWUP}
    pushed = post_form(client, "/admin/config?site=mairie", "/admin/config", form)
    assert "2 borne(s) (réglages n° 1)" in flashes(client.get(pushed.headers["Location"]))
    wait(lambda: first.kiosk.settings.rev == 1, what="the running kiosk applies rev 1")
    settings = first.kiosk.settings
    assert settings.response_interval_s == 6
    assert [c["id"] for c in settings.followup["choices"]] == ["wait", "answer", "welcome"]
    assert settings.followup["question"]["en"] == "What went wrong?"

    def fleet_cell(kiosk: str) -> str:
        page = client.get("/fleet").get_data(as_text=True)
        return re.search(rf'data-testid="config-{kiosk}">(.*?)</td>', page, re.S).group(1)

    wait(lambda: "à jour" in fleet_cell("borne-1"), what="the fleet shows borne-1 applied it")
    assert "en attente des réglages n° 1" in fleet_cell("borne-2"), "borne-2 has not started yet"
    second = kiosk_factory("borne-2", mosquitto.address)  # started after the push: the message was retained
    wait(lambda: second.kiosk.settings.rev == 1, what="a kiosk that was off gets the retained config")
    wait(lambda: "à jour" in fleet_cell("borne-2"), what="the fleet shows borne-2 applied it")

    again = post_form(client, "/admin/config?site=mairie", "/admin/config",
                      {**form, "target": "borne-2", "response_interval_s": "3"})
    assert "1 borne(s) (réglages n° 2)" in flashes(client.get(again.headers["Location"]))
    wait(lambda: second.kiosk.settings.rev == 2 and second.kiosk.settings.response_interval_s == 3,
         what="rev 2 on borne-2 only")
    assert first.kiosk.settings.rev == 1

    bad = post_form(client, "/admin/config?site=mairie", "/admin/config",
                    {**form, "choice_2_id": "", "choice_2_fr": ""})
    assert bad.status_code == 400 and field_error(bad, "choices") == "De 3 à 6 choix, chacun avec un identifiant."
    db.close()
