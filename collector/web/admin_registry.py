"""Admin pages for the registry: sites (name, organisation, time zone, scale, opening hours) and kiosks."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from collector.fleet import fleet
from collector.public_results import org_flags, set_published, site_flags
from collector.registry import (
    WEEKDAYS,
    RegistryError,
    add_kiosk,
    add_site,
    get_site,
    list_kiosks,
    list_sites,
    move_kiosk,
    retire_kiosk,
    update_site,
)
from collector.users import Role
from collector.web import get_db
from collector.web.access import require_role
from collector.web.i18n import t

bp = Blueprint("admin_registry", __name__, url_prefix="/admin")
bp.before_request(require_role(Role.ADMIN))


@bp.errorhandler(RegistryError)
def registry_error(exc: RegistryError):  # type: ignore[no-untyped-def]
    flash(str(exc), "error")
    return redirect(request.referrer or url_for(".sites"))


def _opening_hours() -> dict[str, str] | None:
    hours = {day: request.form.get(f"hours_{day}", "").strip() for day in WEEKDAYS}
    if not any(hours.values()):
        return None  # always open
    return {day: spec for day, spec in hours.items() if spec and spec not in ("-", "fermé", "closed")}


@bp.get("/sites")
def sites():  # type: ignore[no-untyped-def]
    db = get_db()
    counts = {r["site"]: r["n"] for r in db.query(
        "SELECT site, COUNT(*) AS n FROM kiosks WHERE retired IS NULL GROUP BY site")}
    edit = get_site(db, request.args.get("edit", "")) if request.args.get("edit") else None
    return render_template("admin/sites.html", admin_nav=True, sites=list_sites(db), counts=counts,
                           edit=edit, weekdays=WEEKDAYS, published=site_flags(db), orgs=org_flags(db))


@bp.post("/<any(sites, orgs):kind>/<ident>/published")
def publish(kind: str, ident: str):  # type: ignore[no-untyped-def]
    """Opt a site or an organisation in or out of the public results (issue 13; docs/public.md)."""
    on = request.form.get("published") == "1"
    if not set_published(get_db(), "site" if kind == "sites" else "org", ident, on):
        raise RegistryError(t(f"Aucun site ou organisation {ident!r}.", f"No site or organisation {ident!r}."))
    flash(t(f"{ident} : résultats publics {'activés' if on else 'retirés'}.",
            f"{ident}: public results {'on' if on else 'off'}."), "ok")
    return redirect(url_for(".sites"))


@bp.post("/sites")
def save_site():  # type: ignore[no-untyped-def]
    db = get_db()
    form = request.form
    site_id = form.get("id", "").strip()
    fields = {"name": form.get("name", "").strip() or site_id, "org": form.get("org", "").strip() or "default",
              "tz": form.get("tz", "").strip() or "Europe/Paris", "scale": form.get("scale", 4, type=int),
              "opening_hours": _opening_hours()}
    if get_site(db, site_id) is None:
        add_site(db, site_id, fields.pop("name"), **fields)  # type: ignore[arg-type]
        flash(t(f"Site {site_id} ajouté.", f"Site {site_id} added."), "ok")
    else:
        update_site(db, site_id, **fields)
        flash(t(f"Site {site_id} enregistré.", f"Site {site_id} saved."), "ok")
    return redirect(url_for(".sites"))


@bp.get("/kiosks")
def kiosks():  # type: ignore[no-untyped-def]
    db = get_db()
    state = {r["kiosk"]: r for r in fleet(db, with_gaps=False)}
    return render_template("admin/kiosks.html", admin_nav=True, kiosks=list_kiosks(db), sites=list_sites(db),
                           state=state)


@bp.post("/kiosks")
def add():  # type: ignore[no-untyped-def]
    kiosk_id = request.form.get("id", "").strip()
    add_kiosk(get_db(), kiosk_id, request.form.get("site", ""), request.form.get("name", "").strip() or None)
    flash(t(f"Borne {kiosk_id} enregistrée.", f"Kiosk {kiosk_id} registered."), "ok")
    return redirect(url_for(".kiosks"))


@bp.post("/kiosks/<kiosk_id>/move")
def move(kiosk_id: str):  # type: ignore[no-untyped-def]
    site = request.form.get("site", "")
    moved = move_kiosk(get_db(), kiosk_id, site)
    flash(t(f"Borne {kiosk_id} déplacée vers {site}", f"Kiosk {kiosk_id} moved to {site}")
          + (t(f" ({moved} réponses passées suivent).", f" ({moved} past answers moved along).") if moved else "."),
          "ok")
    return redirect(url_for(".kiosks"))


@bp.post("/kiosks/<kiosk_id>/retire")
def retire(kiosk_id: str):  # type: ignore[no-untyped-def]
    retire_kiosk(get_db(), kiosk_id)
    flash(t(f"Borne {kiosk_id} retirée : ses envois seront refusés, ses chiffres restent.",
            f"Kiosk {kiosk_id} retired: its batches will be refused, its figures stay."), "ok")
    return redirect(url_for(".kiosks"))
