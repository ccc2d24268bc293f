"""Platssamverkan in the web app: the registry of sites, each site's page, the API.

Pages (Swedish UI): ``/sites`` lists the sites with filters (status,
stadsdelsområde, a word) and their before/after figures; ``/sites/<id>`` shows one
site: its map with the ring, incidents before and after its start in the site and
in the ring (``?ring=300&months=12``), incidents per tertial, open findings inside
it, the agreed measures and the log of meetings and activities. Handläggare and
admin draw and edit sites (``/sites/new``, ``/sites/<id>/edit``, the polygon drawn
with Leaflet.draw, served by the app), add measures and log entries; everyone else
only reads. ``POST /api/sites`` takes sites as GeoJSON (or a file) with a bearer
token: every row valid or nothing stored (422 with a list of row, field, message).

The counts are computed in :mod:`layers.domain.sites`; the city map's sites layer gets the
same figures in its popups through :func:`mapapp.reading.popup_extra`.
"""

from __future__ import annotations

import shutil

import geopandas as gpd
import pandas as pd
from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from folium.plugins import Draw

from layers.core.errors import FileRejected, RowError
from layers.core.schema import (
    FINDING_CATEGORIES,
    MEASURE_STATUSES,
    OWNERS,
    SITE_ACTIVITIES,
    SITE_STATUSES,
    STORE_EPSG,
    WEB_EPSG,
)
from layers.domain import sites as core
from layers.domain.findings import api_payload_file
from layers.indicators import INDICATORS
from layers.io.forms import errors_by_field
from layers.io.importer import commit_import, prepare_import
from mapapp.access import current_user, may_write, require_write, role_required, user_name
from mapapp.extensions import csrf
from mapapp.folium_ import base_map, folium_parts
from mapapp.reading import ring_and_months, site_categories, suppress_below
from mapapp.store_ import get_store
from mapapp.uploads import api_file, api_folder, keep_file
from mapapp.views import (
    api_errors,
    area_names,
    context_shapes,
    created,
    drawn_feature,
    flash_outcome,
    map_data,
    saved_edit,
    text,
    token_required,
)

bp = Blueprint("sites", __name__)

#: The role that may create and change sites, measures and log entries.
EDIT_ROLE = "handläggare"


# --- helpers ------------------------------------------------------------------------------


def _site_or_404(site_id: str) -> pd.Series:
    site = core.get_site(get_store(), site_id)
    if site is None:
        abort(404)
    return site


def _editable_site(site_id: str) -> pd.Series:
    """The site, when this user may change it (404 when missing, 403 outside their area)."""
    site = _site_or_404(site_id)
    require_write(EDIT_ROLE, [site["sdo_code"]])
    return site


def _shapes(site: pd.Series, ring_m: float) -> list[dict]:
    """The site and its ring as GeoJSON features for place_map.js (WGS 84)."""
    geoms = gpd.GeoSeries([site.geometry, core.ring_of(site.geometry, ring_m)],
                          crs=STORE_EPSG).to_crs(WEB_EPSG)
    return [
        {"type": "Feature", "geometry": geoms.iloc[0].__geo_interface__,
         "properties": {"kind": "site", "label": text(site["name"])}},
        {"type": "Feature", "geometry": geoms.iloc[1].__geo_interface__,
         "properties": {"kind": "ring", "label": f"Ring {int(ring_m)} m runt platsen"}},
    ]


# --- the list -------------------------------------------------------------------------------


@bp.get("/sites")
def list_sites():
    """List the sites with filters and each one's before/after figures."""
    store = get_store()
    statuses = [s for s in request.args.getlist("status") if s in SITE_STATUSES]
    areas = area_names()
    sdo = [s for s in request.args.getlist("sdo") if s in areas]
    query = request.args.get("q", "").strip()[:100]
    ring, months = ring_and_months()
    frame = core.list_sites(store, status=statuses, sdo=sdo, text=query)
    counted = site_categories()
    figures = core.figures_for_sites(store, frame, ring_m=ring, months=months,
                                     categories=counted.codes)
    below = suppress_below()
    rows = []
    for _, site in frame.iterrows():
        fig = figures[str(site["id"])]
        measures = core.measures_of(store, site["id"])
        open_measures = int((~measures["status"].isin(("klar", "installd"))).sum())
        rows.append({"site": site, "figures": fig.display(below), "window": fig.windows,
                     "open_measures": open_measures, "measures": len(measures)})
    return render_template(
        "sites/list.html", rows=rows, statuses=SITE_STATUSES, areas=areas,
        chosen_status=statuses, chosen_sdo=sdo, q=query, ring=ring, months=months,
        month_choices=core.WINDOW_CHOICES, may_edit=may_write(EDIT_ROLE), suppress=below,
        text=text, note=counted.note)


# --- one site --------------------------------------------------------------------------------


@bp.get("/sites/<site_id>")
def show_site(site_id: str):
    """One site: map, before/after figures, tertials, open findings, measures and log."""
    store = get_store()
    site = _site_or_404(site_id)
    ring, months = ring_and_months()
    counted = site_categories()
    figures = core.site_figures(store, site, ring_m=ring, months=months, tertials=True,
                                categories=counted.codes)
    below = suppress_below()
    findings = core.open_findings_in(store, site.geometry)
    # the findings' texts are for signed-in users, as on the findings pages
    findings_data = map_data(findings) if current_user() is not None else []
    parts = folium_parts(base_map(zoom_start=15))
    groups = {code: core.display_counts(c, below) for code, c in figures.groups.items()}
    tertials = [{"period": t.period, "side": t.side,
                 "site": core.shown(t.site, below), "ring": core.shown(t.ring, below)}
                for t in figures.tertials]
    return render_template(
        "sites/detail.html", site=site, figures=figures, shown=figures.display(below),
        groups=groups, tertials=tertials, findings=findings,
        findings_data=findings_data, shapes=_shapes(site, ring), parts=parts,
        context=context_shapes(site.geometry, sites=True, skip=site_id),
        measures=core.measures_of(store, site_id), log=core.activity_log_of(store, site_id),
        ring=ring, months=months, month_choices=core.WINDOW_CHOICES,
        may_edit=may_write(EDIT_ROLE, [site["sdo_code"]]),
        signed_in=current_user() is not None, labels=core.LABELS, owners=OWNERS,
        suppress=below, text=text, defs=INDICATORS,
        finding_categories={c.code: c.label for c in FINDING_CATEGORIES},
        area_name=area_names().get(text(site["sdo_code"]), text(site["sdo_name"])),
        today=pd.Timestamp.now().date().isoformat(),
        measure_errors=None, log_errors=None, measure_values={}, log_values={},
        note=counted.note)


def _render_form(site: pd.Series | None, values: dict, drawn: str, errors: list[RowError],
                 status: int = 200):
    m = base_map(zoom_start=12 if site is None else 16)
    draw = Draw(position="topleft", show_geometry_on_click=False,
                draw_options={"polyline": False, "circle": False, "marker": False,
                              "circlemarker": False, "rectangle": {"showArea": False},
                              "polygon": {"allowIntersection": False, "showArea": False}},
                edit_options={"poly": {"allowIntersection": False}})
    draw.add_to(m)
    parts = folium_parts(m)
    partners = [p.strip() for p in text(values.get("partners")).split(",") if p.strip()]
    known = [p for p in partners if p in core.PARTNER_SUGGESTIONS]
    other = ", ".join(p for p in partners if p not in core.PARTNER_SUGGESTIONS)
    activities = [a.strip() for a in text(values.get("activities")).split(",") if a.strip()]
    return render_template(
        "sites/form.html", site=site, context=context_shapes(
            None if site is None else site.geometry, sites=True,
            skip=None if site is None else str(site["id"])),
        values=values, drawn=drawn, errors=errors,
        field_errors=errors_by_field(errors), parts=parts, draw_name=draw.get_name(),
        statuses=SITE_STATUSES, partner_choices=core.PARTNER_SUGGESTIONS,
        partners_known=known, partners_other=other, activity_choices=SITE_ACTIVITIES,
        activities=activities), status


def _form_values() -> tuple[dict[str, str], str]:
    """The form's fields (partners and activities joined) and the drawn GeoJSON."""
    form = request.form
    partners = [p for p in form.getlist("partner") if p in core.PARTNER_SUGGESTIONS]
    partners += [p.strip() for p in form.get("partners_other", "").split(",") if p.strip()]
    activities = [SITE_ACTIVITIES[a] for a in form.getlist("activity") if a in SITE_ACTIVITIES]
    values = {"name": form.get("name", "").strip(), "status": form.get("status", ""),
              "start_date": form.get("start_date", ""), "contact": form.get("contact", ""),
              "partners": ", ".join(dict.fromkeys(partners)),
              "activities": ", ".join(activities)}
    return values, form.get("geometry", "")


@bp.route("/sites/new", methods=("GET", "POST"))
@role_required(EDIT_ROLE)
def new_site():
    """Draw a new site on the map and describe it."""
    if request.method == "GET":
        return _render_form(None, {"status": "planerad"}, "", [])
    values, drawn = _form_values()
    store = get_store()
    frame, errors = core.site_from_form(store, values, drawn)
    if errors:
        return _render_form(None, values, drawn, errors, 422)
    require_write(EDIT_ROLE, frame["sdo_code"])
    site_id = core.create_site(store, frame)
    flash(f"Platsen {values['name']} sparades.", "success")
    return redirect(url_for("sites.show_site", site_id=site_id))


@bp.route("/sites/<site_id>/edit", methods=("GET", "POST"))
@role_required(EDIT_ROLE)
def edit_site(site_id: str):
    """Change a site's description or redraw its polygon (its old and new area: the user's)."""
    site = _editable_site(site_id)
    if request.method == "GET":
        values = {k: text(site[k]) for k in ("name", "status", "start_date", "contact",
                                              "partners", "activities")}
        return _render_form(site, values, drawn_feature(site.geometry), [])
    values, drawn = _form_values()
    store = get_store()
    frame, errors = core.site_from_form(store, values, drawn, site_id=site_id)
    if errors:
        return _render_form(site, values, drawn, errors, 422)
    require_write(EDIT_ROLE, frame["sdo_code"])
    return saved_edit(core.update_site(store, site_id, frame), "sites.show_site",
                      site_id=site_id)


@bp.post("/sites/<site_id>/delete")
@role_required(EDIT_ROLE)
def delete_site(site_id: str):
    """Delete a site with its measures and log."""
    site = _editable_site(site_id)
    core.delete_site(get_store(), site_id)
    flash(f"Platsen {site['name']} togs bort.", "success")
    return redirect(url_for("sites.list_sites"))


def _add_to_site(site_id: str, add, refused: str, saved: str, anchor: str):
    """Add a row from the request's form to the site with ``add`` (the domain's
    function) and show the site's page at ``anchor``."""
    _editable_site(site_id)
    errors = add(get_store(), site_id, request.form, user=user_name())
    flash_outcome(errors, refused, saved)
    return redirect(url_for("sites.show_site", site_id=site_id, _anchor=anchor))


@bp.post("/sites/<site_id>/measures")
@role_required(EDIT_ROLE)
def add_measure(site_id: str):
    """Add an agreed measure (what, who, by when)."""
    return _add_to_site(site_id, core.add_measure, "Åtgärden sparades inte",
                        "Åtgärden sparades.", "measures")


@bp.post("/sites/<site_id>/measures/<measure_id>/status")
@role_required(EDIT_ROLE)
def measure_status(site_id: str, measure_id: str):
    """Mark a measure as planned, under way, done or cancelled."""
    _editable_site(site_id)
    if not core.set_measure_status(get_store(), site_id, measure_id,
                                   request.form.get("status", "")):
        abort(404)
    flash(f"Åtgärden är nu {MEASURE_STATUSES[request.form['status']]}.", "success")
    return redirect(url_for("sites.show_site", site_id=site_id, _anchor="measures"))


@bp.post("/sites/<site_id>/log")
@role_required(EDIT_ROLE)
def add_log_entry(site_id: str):
    """Log a meeting or an activity at the site."""
    return _add_to_site(site_id, core.add_log_entry, "Händelsen sparades inte",
                        "Händelsen loggades.", "log")


# --- the API ----------------------------------------------------------------------------------


@bp.post("/api/sites")
@csrf.exempt
@role_required(EDIT_ROLE)
@token_required
def api_create():
    """Create sites from GeoJSON, JSON or a file; all rows or none (422 per row).

    Only bearer tokens are accepted (this route has no CSRF check). ``GET /api/sites``
    is the map API's (:mod:`mapapp.api`).
    """
    store = get_store()
    folder = api_folder()
    try:
        payload = None if request.files.get("file") else request.get_json(silent=True,
                                                                           force=True)
        if payload in ([], {}) or (isinstance(payload, dict)
                                   and payload.get("type") == "FeatureCollection"
                                   and not payload.get("features")):
            raise FileRejected("Inga platser att spara (tom lista).")
        if payload is not None:
            path, name, row_map = api_payload_file(payload, folder)
        else:
            path, name, row_map = api_file(folder)
        prepared = prepare_import(store, "sites", path, source="api", display_name=name)
        if prepared.errors:
            return api_errors(prepared.errors, row_map)
        require_write(EDIT_ROLE, prepared.frame["sdo_code"])
        report = commit_import(store, prepared, user=user_name())
        keep_file(path)
    except FileRejected as exc:
        return api_errors([RowError(None, None, str(exc))])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    body = {"inserted": report.inserted, "unchanged": report.unchanged,
            "ids": prepared.frame["id"].tolist()}
    return created(body, report.inserted > 0)
