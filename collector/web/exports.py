"""CSV and XLSX downloads of the dashboard's figures, for the same scope, period and rules."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from collector.config_push import followup_labels
from collector.exports import TABLES, Table, hourly_rollups_table, reasons_table, to_csv, to_xlsx
from collector.reports import Report, build_report, followup_answers
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user
from collector.web.scope import Selection, selection
from ressenti.protocol import format_ts, utc_now

bp = Blueprint("exports", __name__, url_prefix="/dashboard")


def _report(sel: Selection):  # type: ignore[no-untyped-def]
    return build_report(get_db(), sel.sites, sel.start, sel.end, hours=sel.hours, counts=sel.counts,
                        min_cell=current_app.config["MIN_CELL"], site_days=True, question=sel.question)


def _reasons(sel: Selection, report: Report) -> Table:
    db = get_db()
    answers = followup_answers(db, report.sites, report.start, report.end, hours=report.hours,
                               counts=report.counts, question=sel.question)
    return reasons_table(report, answers, followup_labels(db, (s.id for s in report.sites)))


TABLE_NAMES = [*TABLES, "reasons"]


def _table(name: str, sel: Selection, report: Report) -> Table:
    return _reasons(sel, report) if name == "reasons" else TABLES[name](report)


def _filename(sel: Selection, suffix: str) -> str:
    scope = sel.scope.replace(":", "-")
    return f"ressenti-{scope}-{sel.start.isoformat()}-{sel.end.isoformat()}{suffix}"


@bp.get("/export.csv")
def csv_export():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    sel = selection(get_db(), user)
    name = request.args.get("table", "days")
    if name == "hours":
        if not user.at_least(Role.ADMIN):
            abort(403)
        table = hourly_rollups_table(get_db(), sel.sites, _report(sel))
    elif name in TABLE_NAMES:
        table = _table(name, sel, _report(sel))
    else:
        abort(400, f"table is one of {', '.join([*TABLE_NAMES, 'hours'])}")
    return Response(to_csv(table), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename(sel, f"-{name}.csv")}"'})


@bp.get("/export.xlsx")
def xlsx_export():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    sel = selection(get_db(), user)
    report = _report(sel)
    about = [("scope", sel.label), ("sites", ", ".join(s.id for s in sel.sites)),
             ("from", sel.start.isoformat()), ("to", sel.end.isoformat()), ("hours", sel.hours),
             ("counts", sel.counts), ("question", sel.question or "all"), ("min_cell", str(report.min_cell)),
             ("note", f"cells with fewer than {report.min_cell} answers say not_enough_responses"),
             ("made", format_ts(utc_now()))]
    body = to_xlsx(((name, _table(name, sel, report)) for name in TABLE_NAMES), about)
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(sel, ".xlsx")}"'})
