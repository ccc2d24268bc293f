"""Load the deterministic demo data set into a store (``trygghetskartan demo``).

Everything the generator makes carries the source/id prefix ``demo`` so the app
can label it as demo data wherever it shows. Loading is one transaction and, by
the stable ids, loading again changes nothing.
"""

from __future__ import annotations

import hashlib
import logging

import pandas as pd

from layers.core import audit
from layers.core.schema import (
    FINDINGS,
    INCIDENTS,
    LOCAL_TZ,
    SENSITIVE_CODES,
    SITES,
    STRATEGIC_CODES,
)
from layers.io.importer import district_index, join_layer
from layers.io.reference import load_reference
from layers.store.base import Store

LOGGER = logging.getLogger(__name__)


def demo_history(findings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give demo findings a plausible, deterministic status history.

    Each finding past "ny" was assigned a few days after the walk; åtgärdade ones
    were fixed 1–12 weeks later and avvisade ones rejected after a week or two.
    The delays come from a hash of the finding's id, so they are the same every
    time, and ``fixed_at`` lets the briefs show time to fix on demo data.
    """
    findings["created_by"] = "demo"
    findings["created_at"] = findings["found_at"]
    digest = findings["id"].map(lambda i: int(hashlib.sha1(i.encode()).hexdigest()[:8], 16))
    assign_days = pd.to_timedelta(2 + digest % 6, unit="D") + pd.Timedelta(hours=9)
    close_days = pd.to_timedelta(7 + (digest // 7) % 78, unit="D")
    assigned_at = findings["found_at"].dt.normalize() + assign_days
    closed_at = assigned_at + close_days
    now = pd.Timestamp.now(tz=LOCAL_TZ)
    status = findings["status"]
    findings["status_changed_at"] = pd.Series(pd.NaT, index=findings.index,
                                              dtype=findings["found_at"].dtype)
    past_ny = status.ne("ny")
    findings.loc[past_ny, "status_changed_at"] = assigned_at[past_ny].clip(upper=now)
    closed = status.isin(["atgardad", "avvisad"])
    findings.loc[closed, "status_changed_at"] = closed_at[closed].clip(upper=now)
    findings["fixed_at"] = findings["status_changed_at"].where(status.eq("atgardad"))
    rows = []
    for i in findings.index[past_ny]:
        fid, owner = findings.at[i, "id"], findings.at[i, "owner"]
        rows.append({"id": f"{fid}:h1", "finding_id": fid, "changed_by": "demo",
                     "changed_at": min(assigned_at[i], now), "from_status": "ny",
                     "to_status": "tilldelad", "owner": owner,
                     "comment": "Tilldelad efter trygghetsvandringen"})
        if status[i] in ("atgardad", "avvisad"):
            rows.append({"id": f"{fid}:h2", "finding_id": fid, "changed_by": "demo",
                         "changed_at": min(closed_at[i], now), "from_status": "tilldelad",
                         "to_status": status[i], "owner": owner,
                         "comment": "Åtgärdat" if status[i] == "atgardad"
                         else "Ingen åtgärd behövs (dubblett)"})
    return findings, pd.DataFrame(rows)


def load_demo(store: Store, seed: int | None = None, n_incidents: int | None = None) -> str:
    """Generate the demo data and store it; return a Swedish summary.

    ``n_incidents`` makes a smaller (or larger) demo for tests; default the full set.
    """
    from geodata.demo import generate_demo

    if not store.is_initialized():
        store.initialize()
    if store.count("stadsdelar") == 0:
        load_reference(store)
    options: dict[str, int] = {}
    if seed is not None:
        options["seed"] = seed
    if n_incidents is not None:
        options["n_incidents"] = n_incidents
    data = generate_demo(**options)
    index = district_index(store)
    sites = join_layer(store, SITES, data.sites.copy(), index=index)
    incidents = data.incidents.copy()
    incidents["strategic"] = incidents["category"].isin(STRATEGIC_CODES)
    incidents["sensitive"] = incidents["category"].isin(SENSITIVE_CODES)
    incidents = join_layer(store, INCIDENTS, incidents, index=index, sites=sites)
    findings, history = demo_history(data.findings.copy())
    findings = join_layer(store, FINDINGS, findings, index=index, sites=sites)
    now = pd.Timestamp.now(tz=LOCAL_TZ)

    def log(results):
        return {"import_log": pd.DataFrame([{
            "id": f"demo:{now.isoformat()}",
            "layer": "incidents,findings,sites,walks",
            "file_name": "(demodata, genererad)",
            "checksum": f"seed={seed}",
            "source": "demo",
            "imported_at": now,
            "imported_by": "trygghetskartan demo",
            "rows_read": len(incidents) + len(findings) + len(sites) + len(data.walks),
            "rows_loaded": sum(r.inserted for r in results.values()),
            "rows_unchanged": sum(r.unchanged for r in results.values()),
            "rows_rejected": 0,
            "rows_outside": int(incidents["sdo_code"].isna().sum()),
            "status": "loaded",
            "report": "Demodata",
        }])}

    # generated data, not anyone's edits: thousands of entries would bury the real ones
    with audit.paused():
        results = store.write({"sites": sites, "walks": data.walks, "incidents": incidents,
                               "findings": findings, "finding_history": history}, then=log)
    lines = ["DEMODATA (påhittade händelser, inte verkliga) i " + repr(store)]
    labels = {"incidents": "händelser", "findings": "fynd", "sites": "platssamverkansplatser",
              "walks": "trygghetsvandringar"}
    for name, label in labels.items():
        r = results[name]
        lines.append(f"  {label}: {r.inserted} nya, {r.unchanged} fanns redan")
    return "\n".join(lines)
