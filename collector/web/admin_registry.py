"""Admin pages for the registry: sites (name, organisation, time zone, scale, opening hours) and kiosks."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from collector.fleet import fleet
from collector.public_results import org_flags, set_published, site_flags
from collector.registry import (
    MAX_NAME_CHARS,
    WEEKDAYS,
    RegistryError,
    add_kiosk,
    add_org,
    add_site,
    get_producer,
    get_site,
    list_kiosks,
    list_sites,
    move_kiosk,
    normalize_ranges,
    org_names,
    parse_opening_hours,
    retire_kiosk,
    update_site,
    zone_exists,
)
from collector.users import Role
from collector.web import get_db
from collector.web.access import require_role
from collector.web.i18n import t
from ressenti.protocol import SCALES, is_slug

bp = Blueprint("admin_registry", __name__, url_prefix="/admin")
bp.before_request(require_role(Role.ADMIN))


@bp.errorhandler(RegistryError)
def registry_error(exc: RegistryError):  # type: ignore[no-untyped-def]
    flash(str(exc), "error")
    return redirect(request.referrer or url_for(".sites"))


CLOSED_WORDS = ("-", "fermé", "ferme", "closed")
SLUG_HINT = ("minuscules, chiffres et tirets, par ex. mairie-centre",
             "lower case, digits and dashes, e.g. mairie-centre")


def _site_form(errors: dict[str, str]) -> dict[str, object]:
    """The site form's fields, checked one by one: `errors` gets a French (or English) message per field."""
    form = request.form
    fields: dict[str, object] = {}
    site_id = form.get("id", "").strip()
    if not is_slug(site_id):
        errors["id"] = t("Identifiant : ", "Id: ") + t(*SLUG_HINT) + "."
    name = form.get("name", "").strip() or site_id
    if not name or len(name) > MAX_NAME_CHARS:
        errors["name"] = t(f"Un nom de 1 à {MAX_NAME_CHARS} caractères.",
                           f"A name of 1 to {MAX_NAME_CHARS} characters.")
    org = form.get("org", "").strip() or "default"
    if not is_slug(org):
        errors["org"] = t("Organisation : ", "Organisation: ") + t(*SLUG_HINT) + "."
    tz = form.get("tz", "").strip() or "Europe/Paris"
    if not zone_exists(tz):
        errors["tz"] = t("Fuseau horaire inconnu : écrivez par ex. Europe/Paris ou America/Cayenne.",
                         "Unknown time zone: write e.g. Europe/Paris or America/Cayenne.")
    scale = form.get("scale", "4").strip()
    if not scale.isdigit() or int(scale) not in SCALES:
        errors["scale"] = t("3, 4 ou 5 visages.", "3, 4 or 5 faces.")
    hours: dict[str, str] = {}
    for day in WEEKDAYS:
        typed = form.get(f"hours_{day}", "").strip()
        if not typed or typed.lower() in CLOSED_WORDS:
            continue
        try:
            hours[day] = normalize_ranges(typed)
            parse_opening_hours({day: hours[day]})  # 25:00 or a range that ends before it starts
        except RegistryError:
            errors[f"hours_{day}"] = t("Horaires non compris. Écrivez par ex. 8h30-12h, 14h-17h30.",
                                       "Hours not understood. Write e.g. 08:30-12:00, 14:00-17:30.")
    any_typed = any(form.get(f"hours_{day}", "").strip() for day in WEEKDAYS)
    org_name = form.get("org_name", "").strip()
    if len(org_name) > MAX_NAME_CHARS:
        errors["org_name"] = t(f"Un nom de {MAX_NAME_CHARS} caractères au plus.",
                               f"A name of {MAX_NAME_CHARS} characters at most.")
    fields.update(org_name=org_name, id=site_id, name=name, org=org, tz=tz,
                  scale=int(scale) if "scale" not in errors else 4,
                  opening_hours=hours if any_typed else None)  # every day empty: always open
    return fields


def _sites_page(edit: object = None, form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    counts = {r["site"]: r["n"] for r in db.query(
        "SELECT site, COUNT(*) AS n FROM kiosks WHERE retired IS NULL GROUP BY site")}
    return render_template("admin/sites.html", admin_nav=True, sites=list_sites(db), counts=counts,
                           edit=edit, weekdays=WEEKDAYS, form=form, errors=errors or {},
                           orgs=org_names(db), published=site_flags(db), org_published=org_flags(db)), status


@bp.get("/sites")
def sites():  # type: ignore[no-untyped-def]
    edit = get_site(get_db(), request.args.get("edit", "")) if request.args.get("edit") else None
    return _sites_page(edit)


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
    errors: dict[str, str] = {}
    fields = _site_form(errors)
    site_id = str(fields.pop("id"))
    org_name = str(fields.pop("org_name"))
    existing = get_site(db, site_id) if "id" not in errors else None
    if not errors:
        try:
            if existing is None:
                add_site(db, site_id, str(fields.pop("name")), **fields)  # type: ignore[arg-type]
            else:
                update_site(db, site_id, **fields)
            if org_name:
                add_org(db, str(fields["org"]), org_name)
        except RegistryError as exc:
            errors["form"] = str(exc)
    if errors:
        typed = {k: v[:500] for k, v in request.form.items() if k != "csrf_token"}
        return _sites_page(existing, typed, errors, 400)
    flash(t(f"Site {site_id} ajouté.", f"Site {site_id} added.") if existing is None
          else t(f"Site {site_id} enregistré.", f"Site {site_id} saved."), "ok")
    return redirect(url_for(".sites"))


def _kiosks_page(typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    state = {r["kiosk"]: r for r in fleet(db, with_gaps=False)}
    sites = list_sites(db)
    return render_template("admin/kiosks.html", admin_nav=True, kiosks=list_kiosks(db), sites=sites,
                           site_names={s.id: s.name for s in sites}, state=state, typed=typed or {},
                           errors=errors or {}), status


@bp.get("/kiosks")
def kiosks():  # type: ignore[no-untyped-def]
    return _kiosks_page()


@bp.post("/kiosks")
def add():  # type: ignore[no-untyped-def]
    db = get_db()
    kiosk_id = request.form.get("id", "").strip()
    site_id = request.form.get("site", "")
    name = request.form.get("name", "").strip()
    errors = {}
    if not is_slug(kiosk_id):
        errors["id"] = t("Identifiant : ", "Id: ") + t(*SLUG_HINT) + "."
    elif (current := get_producer(db, kiosk_id)) is not None and current.site != site_id:
        errors["id"] = t("Cette borne est déjà enregistrée sur un autre site : déplacez-la plutôt.",
                         "This kiosk is registered at another site: move it instead.")
    if get_site(db, site_id) is None:
        errors["site"] = t("Choisissez un site de la liste.", "Choose a site from the list.")
    if len(name) > MAX_NAME_CHARS:
        errors["name"] = t(f"{MAX_NAME_CHARS} caractères au plus.", f"{MAX_NAME_CHARS} characters at most.")
    if errors:
        return _kiosks_page({"id": kiosk_id[:100], "site": site_id[:100], "name": name[:200]}, errors, 400)
    add_kiosk(db, kiosk_id, site_id, name or None)
    flash(t(f"Borne {name or kiosk_id} enregistrée.", f"Kiosk {name or kiosk_id} registered."), "ok")
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
