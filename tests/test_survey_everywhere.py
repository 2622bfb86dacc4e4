"""Issue 14: web and phone survey ratings show, with their channel and exactly once, beside a kiosk's
presses in the dashboard's channel breakdown, the CSV export, the report's content and the wall's data."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site
from collector.reports_pdf.content import content_for, resolve_scope
from collector.reports_pdf.render import rendering
from collector.survey.links import create_link
from ressenti.protocol import utc_now

MIN_CELL = 3
WEB, PHONE, KIOSK = [4, 4, 3], [1, 2, 4, 4], [4, 3, 2, 1, 4]


def fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def answer(client, slug: str, rating: int, n: int) -> None:
    """One visitor on the real survey page (each from their own address, so none is a burst)."""
    env = {"REMOTE_ADDR": f"203.0.113.{n}"}
    form = fields(client.get(f"/s/{slug}", environ_base=env).get_data(as_text=True))
    done = client.post(f"/s/{slug}", data={**form, "rating": str(rating)}, environ_base=env)
    if done.status_code == 200:  # a low rating asks the follow-up first; the visitor skips it
        done = client.post(f"/s/{slug}", data=fields(done.get_data(as_text=True)), environ_base=env)
    assert done.status_code == 303, done.get_data(as_text=True)[:300]


@pytest.fixture
def world(app, client):
    app.config["MIN_CELL"] = MIN_CELL
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(db, "borne-1", "mairie")
    web, phone = create_link(db, "mairie", "web"), create_link(db, "mairie", "phone")
    # the kiosk batch first: stored here directly, it does not tell the wall's hub as the ingest would
    # (each survey answer does, so the wall's figures are fresh after the last one)
    store_presses(db, "borne-1", "mairie", [Press(utc_now(), r, "touch") for r in KIOSK])
    n = 0
    for link, ratings in ((web, WEB), (phone, PHONE)):
        for rating in ratings:
            n += 1
            answer(client, link.slug, rating, n)
    quick_user(db, "alice", "admin")
    login(client, "alice")
    yield db
    db.close()


def today(db) -> str:
    return datetime.now(get_site(db, "mairie").zone).date().isoformat()


def test_the_events_hold_each_answer_once_with_its_channel(world):
    got = world.execute("SELECT channel, COUNT(*) FROM events GROUP BY channel ORDER BY channel").fetchall()
    assert got == [("phone", len(PHONE)), ("touch", len(KIOSK)), ("web", len(WEB))]


def test_the_dashboard_breaks_them_down_by_channel(world, client):
    day = today(world)
    page = client.get(f"/dashboard?scope=site:mairie&from={day}&to={day}").get_data(as_text=True)
    table = page.split('data-testid="channels"')[1].split("</table>")[0]
    rows = {name: table.split(name, 1)[1].split("</tr>")[0] for name in ("Web", "Téléphone", "Écran tactile")}
    for name, ratings in (("Web", WEB), ("Téléphone", PHONE), ("Écran tactile", KIOSK)):
        assert f'<td class="num">{len(ratings)}</td>' in rows[name], (name, rows[name])


def test_the_csv_export_has_them_in_its_channel_column(world, client):
    day = today(world)
    response = client.get(f"/dashboard/export.csv?scope=site:mairie&from={day}&to={day}&table=channels")
    assert response.status_code == 200
    channels = {r["channel"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert {c: channels[c]["answers"] for c in channels} == {
        "web": str(len(WEB)), "phone": str(len(PHONE)), "touch": str(len(KIOSK))}
    days = list(csv.DictReader(io.StringIO(client.get(
        f"/dashboard/export.csv?scope=site:mairie&from={day}&to={day}").get_data(as_text=True))))
    assert [d["answers_raw"] for d in days] == [str(len(WEB) + len(PHONE) + len(KIOSK))]


def test_the_report_counts_them_by_channel(world):
    with rendering("fr"):
        content = content_for(world, resolve_scope(world, site="mairie"), "month",
                              datetime.fromisoformat(today(world)).date(), utc_now(), min_cell=MIN_CELL)
    by_channel = {row.key: row for row in content.channels}
    assert {k: content.report.by_channel[k].total for k in by_channel} == {
        "web": len(WEB), "phone": len(PHONE), "touch": len(KIOSK)}
    assert all(row.tally is not None for row in by_channel.values()), "each channel is above the minimum"
    assert content.report.raw.total == content.report.filtered.total == len(WEB) + len(PHONE) + len(KIOSK)


def test_the_wall_counts_every_channel_once(world, app):
    figures = app.extensions["ressenti_live"].snapshot({"mairie"})["sites"][0]
    assert figures["total"] == len(WEB) + len(PHONE) + len(KIOSK), figures
    faces = [0] * 5
    for rating in WEB + PHONE + KIOSK:
        faces[rating] += 1
    assert figures["counts"] == {str(r): faces[r] for r in range(1, 5)}
    assert figures["channels"] == {"web": len(WEB), "phone": len(PHONE), "touch": len(KIOSK)}
