"""Public results (issue 13): the page and its embed, opt-outs, the notes, open data and CORS, bad input."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from web_support import Press, csrf, login, post_form, quick_user, store_presses

from collector.db import MIGRATIONS, _m12_publication, connect, migrate
from collector.public_results import last_full_month, previous_month, set_published
from collector.queries import site_summary
from collector.registry import add_kiosk, add_site, get_site
from collector.tokens import TokenKind, create_token
from collector.web import create_app
from collector.web.opendata import SCHEMA
from collector.web.scope import DEFAULT_ZONE

TODAY = datetime.now(DEFAULT_ZONE).date()
MONTH = last_full_month(TODAY)
BEFORE = previous_month(MONTH)
WORDS = "Pas encore assez d'avis pour publier un chiffre (minimum 100 sur 12 mois)"


def presses(month, satisfied: int, dissatisfied: int, flagged: int = 0) -> list[Press]:
    """Presses spread over the month's first days, 10:00-16:00 local time."""
    out = []
    for i in range(satisfied + dissatisfied + flagged):
        day = month + timedelta(days=i % 20)
        when = datetime(day.year, day.month, day.day, 10 + i % 6, i % 60, tzinfo=DEFAULT_ZONE)
        out.append(Press(when, 4 if i < satisfied else 1, flagged=i >= satisfied + dissatisfied))
    return out


def seed(path: str) -> None:
    db = connect(path)
    add_site(db, "mairie", "Mairie — accueil", org="ville", scale=4)
    add_site(db, "petit", "Petite annexe", org="ville", scale=4)
    add_site(db, "cachee", "Site retiré", org="ville", scale=4)
    add_site(db, "discret", "Site d'une organisation retirée", org="discrete", scale=4)
    for site in ("mairie", "petit", "cachee", "discret"):
        add_kiosk(db, f"{site}-1", site)
    # mairie: 120 filtered answers (90 satisfied) in MONTH, 120 (60 satisfied) in BEFORE; flagged ones left out
    store_presses(db, "mairie-1", "mairie", presses(BEFORE, 60, 60) + presses(MONTH, 90, 30, flagged=15))
    store_presses(db, "petit-1", "petit", presses(MONTH, 30, 10))
    store_presses(db, "cachee-1", "cachee", presses(MONTH, 150, 0))
    store_presses(db, "discret-1", "discret", presses(MONTH, 150, 0))
    set_published(db, "site", "cachee", False)
    set_published(db, "org", "discrete", False)
    quick_user(db, "manon", "manager", ("site:mairie",))
    quick_user(db, "olga", "manager", ("org:ailleurs",))
    quick_user(db, "victor", "viewer", ("org:ville",))
    quick_user(db, "alice", "admin")
    add_site(db, "ailleurs-1", "Ailleurs", org="ailleurs")
    db.close()


@pytest.fixture
def client(app):
    seed(app.config["DATABASE"])
    return app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True)


def test_the_page_shows_the_year_the_month_and_the_trend_in_filtered_counts(client):
    response = client.get("/resultats/mairie")
    assert response.status_code == 200
    page = text(response)
    assert "Vos avis sur notre accueil — Mairie — accueil" in page
    assert 'data-testid="answers-year">240 avis' in page  # 120 + 120; the 15 flagged presses are left out
    assert 'data-testid="answers-month">120 avis' in page
    assert "75\u202f%" in page and "+50\u202f%" in page  # the month: 90 of 120 satisfied, net (90 - 30) / 120
    # net satisfaction went from 0 (60 - 60) to +50 %: +50 points
    assert "+50\u202fpts" in page and "en hausse" in page
    assert "Set-Cookie" not in response.headers, "a public reader gets no session"
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_a_site_with_too_few_answers_shows_words_not_a_figure(client, app):
    page = text(client.get("/resultats/petit"))
    assert WORDS in page and 'data-testid="withheld-year"' in page
    assert "40 avis" not in page and "75\u202f%" not in page
    english = text(client.get("/resultats/petit?lang=en"))
    assert "Not enough answers yet to publish a figure (at least 100 over 12 months)" in english


def test_the_public_minimum_is_configurable_and_separate_from_the_dashboards(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "m.db"), "SECRET_KEY": "t", "START_LIVE": False,
                      "PUBLIC_MIN_COUNT": "30"})
    seed(app.config["DATABASE"])
    page = text(app.test_client().get("/resultats/petit"))
    assert 'data-testid="answers-year">40 avis' in page and app.config["MIN_CELL"] == 10
    app.extensions["ressenti_live"].stop()
    from ressenti.errors import BadConfig
    with pytest.raises(BadConfig, match="PUBLIC_MIN_COUNT"):
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "n.db"), "SECRET_KEY": "t", "START_LIVE": False,
                    "PUBLIC_MIN_COUNT": "many"})


def test_the_organisation_page_adds_its_published_sites_only(client):
    page = text(client.get("/resultats/org/ville?lang=en"))
    assert "Your opinion of our welcome — ville" in page
    assert "Mairie — accueil" in page and "Petite annexe" in page and "Site retiré" not in page
    # 240 (mairie) + 40 (petit); the opted-out site's 150 are not in the organisation's figures
    assert 'data-testid="answers-year">280 answers' in page


@pytest.mark.parametrize("url", ["/resultats/cachee", "/resultats/cachee/embed", "/resultats/discret",
                                 "/resultats/org/discrete", "/resultats/org/discrete/embed", "/resultats/nope",
                                 "/resultats/org/nope"])
def test_opted_out_and_unknown_answer_the_same_clear_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "ne publie pas ses résultats" in text(response)


def test_opted_out_sites_are_absent_from_the_public_api_and_open_data(client, app):
    listed = {s["id"] for s in client.get("/api/v1/sites").get_json()}
    assert listed == {"mairie", "petit", "ailleurs-1"}
    assert client.get("/api/v1/sites/cachee/summary").status_code == 404
    assert client.get("/api/v1/sites/discret/series").status_code == 404
    db = connect(app.config["DATABASE"])
    _, secret = create_token(db, TokenKind.ADMIN, label="t")
    db.close()
    admin = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/sites/cachee/summary", headers=admin).status_code == 200, "an admin still reads it"
    every = {s["id"]: s["published"] for s in client.get("/api/v1/sites", headers=admin).get_json()}
    assert every == {"mairie": True, "petit": True, "cachee": False, "discret": False, "ailleurs-1": True}
    rows = client.get("/opendata/resultats.json").get_json()["data"]
    assert {r["site_id"] for r in rows} == {"mairie", "petit", "ailleurs-1"}
    for query in ("site=cachee", "site=discret", "org=discrete", "site=nope"):
        response = client.get(f"/opendata/resultats.csv?{query}")
        assert response.status_code == 404 and "does not publish" in response.get_json()["error"]


@pytest.mark.parametrize("url, words", [
    ("/resultats/mairie?month=2099-01", "n'est pas encore terminé"),
    (f"/resultats/mairie?month={TODAY:%Y-%m}", "n'est pas encore terminé"),
    ("/resultats/mairie?month=novembre", "n'est pas un mois"),
    ("/resultats/mairie?month=18446744073709551616-01", "n'est pas un mois"),
    ("/resultats/mairie?month=1999-12", "trop ancien"),
])
def test_a_bad_month_is_a_clear_400_page(client, url, words):
    response = client.get(url)
    assert response.status_code == 400 and words in text(response).replace("&#39;", "'")


@pytest.mark.parametrize("query, words", [
    ("to=2099-01", "not over yet"), ("from=2026-13", "is not a month"), ("from=2026-10&to=2026-01", "after to"),
    ("from=1990-01&to=2026-01", "at most 120 months"), ("to=" + "9" * 30, "is not a month"),
])
def test_bad_open_data_periods_are_clear_json_errors(client, query, words):
    response = client.get(f"/opendata/resultats.json?{query}")
    assert response.status_code == 400 and words in response.get_json()["error"]


def test_only_the_embed_may_be_framed_by_another_site(client):
    page = client.get("/resultats/mairie")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    embed = client.get("/resultats/mairie/embed")
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"] and "X-Frame-Options" not in embed.headers
    assert "75\u202f%" in text(embed) and "Mois par mois" not in text(embed), "the embed is the figures alone"
    refused = client.get("/resultats/cachee/embed")
    assert refused.headers["X-Frame-Options"] == "DENY", "an error page is not embeddable"
    login(client, "alice")
    assert "frame-ancestors 'none'" in client.get("/admin/sites").headers["Content-Security-Policy"]


def test_cors_only_on_public_reads_and_never_with_credentials(client, app):
    for url in ("/api/v1/sites", "/api/v1/sites/mairie/summary", "/api/v1/sites/mairie/series",
                "/opendata/resultats.csv", "/opendata/resultats.json", "/opendata/schema.json",
                "/opendata/datapackage.json"):
        response = client.get(url)
        assert response.headers.get("Access-Control-Allow-Origin") == "*", url
        assert "Access-Control-Allow-Credentials" not in response.headers
    db = connect(app.config["DATABASE"])
    _, secret = create_token(db, TokenKind.ADMIN, label="t")
    db.close()
    admin = {"Authorization": f"Bearer {secret}"}
    for url in ("/api/v1/sites", "/api/v1/sites/mairie/summary", "/api/v1/kiosks", "/api/v1/tokens"):
        assert "Access-Control-Allow-Origin" not in client.get(url, headers=admin).headers, url
    login(client, "manon")
    detail = client.get("/api/v1/sites/mairie/summary")
    assert detail.headers["Cache-Control"] == "private, no-store"
    assert "Access-Control-Allow-Origin" not in detail.headers, "an answer made with a cookie"
    assert "Access-Control-Allow-Origin" not in client.get("/dashboard").headers


def test_open_data_follows_its_schema_and_the_figures(client, app):
    names = [f["name"] for f in SCHEMA["fields"]]
    assert client.get("/opendata/schema.json").get_json() == SCHEMA
    package = client.get("/opendata/datapackage.json").get_json()
    assert package["licenses"] == [{"name": "etalab-2.0"}] and package["resources"][0]["schema"] == SCHEMA
    body = client.get(f"/opendata/resultats.csv?site=mairie&from={BEFORE:%Y-%m}&to={MONTH:%Y-%m}")
    assert body.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text(body))))
    assert list(rows[0]) == names and [r["month"] for r in rows] == [f"{BEFORE:%Y-%m}", f"{MONTH:%Y-%m}"]
    last = rows[1]
    db = connect(app.config["DATABASE"])
    site = get_site(db, "mairie")
    assert site is not None
    reference = site_summary(db, site, MONTH, previous_month(MONTH.replace(day=28) + timedelta(days=10)))["filtered"]
    db.close()
    assert int(last["answers"]) == reference["total"] == 120
    assert float(last["satisfaction_rate"]) == reference["satisfaction"] == 0.75
    assert float(last["net_satisfaction"]) == reference["net_satisfaction"]
    assert (last["enough_answers"], last["satisfied"], last["neutral"], last["dissatisfied"], last["scales"]) == (
        "true", "90", "0", "30", "4")
    small = client.get("/opendata/resultats.json?site=petit").get_json()["data"][-1]
    assert small["enough_answers"] is False and small["answers"] is None and small["satisfaction_rate"] is None
    types = {"string": str, "yearmonth": str, "boolean": bool, "integer": int, "number": (int, float)}
    for row in client.get("/opendata/resultats.json").get_json()["data"]:
        assert set(row) == set(names)  # JSON objects have no order (Flask sorts keys)
        for field in SCHEMA["fields"]:
            value = row[field["name"]]
            assert value is None or isinstance(value, types[field["type"]]), (field["name"], value)


def test_open_data_csv_never_hands_a_spreadsheet_a_formula(client, app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", '=HYPERLINK("http://evil.example","Mairie")', org="ville")
    db.close()
    row = next(csv.DictReader(io.StringIO(text(client.get("/opendata/resultats.csv?site=mairie")))))
    assert row["site_name"] == '\'=HYPERLINK("http://evil.example","Mairie")'


def test_a_manager_writes_a_note_that_the_public_page_shows_escaped(client):
    login(client, "manon")
    response = post_form(client, "/notes", "/notes", {
        "scope": "site:mairie", "period": f"{MONTH:%Y-%m}", "said_fr": "L'attente est trop longue <script>x</script>",
        "done_fr": "Un second guichet ouvre le lundi.", "said_en": "", "done_en": "A second desk opens on Mondays."})
    assert response.status_code == 302
    client.post("/logout", data={"csrf_token": csrf(text(client.get("/notes")))})
    page = text(client.get("/resultats/mairie"))
    assert "L&#39;attente est trop longue &lt;script&gt;x&lt;/script&gt;" in page and "<script>" not in page
    assert "Un second guichet ouvre le lundi." in page
    english = text(client.get("/resultats/mairie?lang=en"))
    assert "A second desk opens on Mondays." in english
    assert "L&#39;attente est trop longue" in english, "no English text: the French one"
    assert "Un second guichet" not in text(client.get("/resultats/org/ville")), "a site's note is the site's"


@pytest.mark.parametrize("fields, words", [
    ({"said_fr": "x" * 601}, "at most 600"),
    ({"said_fr": ""}, "said_fr is empty"),
    ({"period": "2099-01"}, "has not started yet"),
    ({"period": "2026-13"}, "must be a month"),
    ({"period": "2026-W60"}, "must be a month"),
])
def test_a_bad_note_is_refused_with_its_reason(client, fields, words):
    login(client, "manon")
    data = {"scope": "site:mairie", "period": f"{MONTH:%Y-%m}", "said_fr": "Trop d'attente", "done_fr": "Fait",
            **fields}
    response = post_form(client, "/notes", "/notes", data)
    assert response.status_code == 400 and words in text(response)


def test_notes_are_scoped_like_the_dashboard_and_need_a_form_token(client, app):
    data = {"scope": "site:mairie", "period": f"{MONTH:%Y-%m}", "said_fr": "a", "done_fr": "b"}
    login(client, "olga")  # a manager of another organisation
    assert post_form(client, "/notes", "/notes", data).status_code == 403
    assert client.get("/notes?scope=site:mairie").status_code == 403
    assert post_form(client, "/notes", "/notes", {**data, "scope": "org:ville"}).status_code == 403
    manon = app.test_client()
    login(manon, "manon")  # a manager of the site, not of its organisation
    assert post_form(manon, "/notes", "/notes", {**data, "scope": "org:ville"}).status_code == 403
    assert manon.post("/notes", data=data).status_code == 400, "no CSRF token"
    assert post_form(manon, "/notes", "/notes", data).status_code == 302
    victor = app.test_client()
    login(victor, "victor")  # a viewer reads the dashboard, does not publish
    assert victor.get("/notes").status_code == 403


def test_an_admin_opts_sites_and_organisations_out_and_in(client, app):
    login(client, "alice")
    page = text(client.get("/admin/sites"))
    assert 'data-testid="publish-mairie"' in page and 'data-testid="publish-org-ville"' in page
    assert post_form(client, "/admin/sites", "/admin/sites/mairie/published", {"published": "0"}).status_code == 302
    assert client.get("/resultats/mairie").status_code == 404
    assert post_form(client, "/admin/sites", "/admin/sites/mairie/published", {"published": "1"}).status_code == 302
    assert client.get("/resultats/mairie").status_code == 200
    assert post_form(client, "/admin/sites", "/admin/orgs/ville/published", {"published": "0"}).status_code == 302
    assert client.get("/resultats/petit").status_code == 404 and client.get("/resultats/org/ville").status_code == 404
    db = connect(app.config["DATABASE"])
    _, secret = create_token(db, TokenKind.ADMIN, label="t")
    db.close()
    admin = {"Authorization": f"Bearer {secret}"}
    answer = client.patch("/api/v1/orgs/ville", json={"published": True}, headers=admin)
    assert answer.status_code == 200 and answer.get_json()["published"] is True
    answer = client.patch("/api/v1/sites/petit", json={"published": False, "name": "Annexe"}, headers=admin)
    assert (answer.get_json()["published"], answer.get_json()["name"]) == (False, "Annexe")
    assert client.get("/resultats/petit").status_code == 404
    assert client.patch("/api/v1/sites/petit", json={"published": "no"}, headers=admin).status_code == 400
    assert client.patch("/api/v1/orgs/nope", json={"published": True}, headers=admin).status_code == 404


def test_the_migration_publishes_by_default_and_can_run_twice(tmp_path):
    db = connect(tmp_path / "m.db")
    add_site(db, "mairie", "Mairie", org="ville")
    assert migrate(db) == len(MIGRATIONS)
    assert db.execute("SELECT published FROM sites").fetchone()[0] == 1
    assert db.execute("SELECT published FROM orgs").fetchone()[0] == 1
    _m12_publication(db)  # again, as after another engineer's step: nothing breaks, nothing changes
    assert {name: kind.__name__ for name, kind in db["published_notes"].columns_dict.items()} == {
        "id": "int", "scope": "str", "period": "str", "said_fr": "str", "done_fr": "str", "said_en": "str",
        "done_en": "str", "author": "str", "updated": "str"}
    db.close()


def test_the_badge_is_a_small_svg_with_the_figure_or_the_words(client, app):
    badge = client.get("/resultats/mairie/badge.svg")
    assert badge.status_code == 200 and badge.mimetype == "image/svg+xml" and text(badge).startswith("<svg ")
    assert "62\u202f% de satisfaits sur 12 mois · 240 avis" in text(badge)  # 150 of 240
    english = text(client.get("/resultats/petit/badge.svg?lang=en"))
    assert "Not enough answers yet (at least 100 over 12 months)" in english
    assert client.get("/resultats/cachee/badge.svg").status_code == 404
    assert client.get("/resultats/mairie/badge.svg?month=2099-01").status_code == 400
    db = connect(app.config["DATABASE"])
    add_site(db, "petit", "Annexe <b>&</b>", org="ville")
    db.close()
    assert "Annexe &lt;b&gt;&amp;&lt;/b&gt;" in text(client.get("/resultats/petit/badge.svg"))
