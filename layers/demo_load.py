"""Load the deterministic demo data set into a store (``trygghetskartan demo``).

Everything the generator makes carries the source/id prefix ``demo`` so the app
can label it as demo data wherever it shows. Loading is one transaction and, by
the stable ids, loading again changes nothing.
"""

from __future__ import annotations

import logging

import pandas as pd

from layers.importer import district_index, join_layer
from layers.reference import load_reference
from layers.schema import FINDINGS, INCIDENTS, LOCAL_TZ, SENSITIVE_CODES, SITES, STRATEGIC_CODES
from layers.store.base import Store

LOGGER = logging.getLogger(__name__)


def load_demo(store: Store, seed: int | None = None) -> str:
    """Generate the demo data and store it; return a Swedish summary."""
    from geodata.demo import generate_demo

    if not store.is_initialized():
        store.initialize()
    if store.count("stadsdelar") == 0:
        load_reference(store)
    data = generate_demo() if seed is None else generate_demo(seed=seed)
    index = district_index(store)
    sites = join_layer(store, SITES, data.sites.copy(), index=index)
    incidents = data.incidents.copy()
    incidents["strategic"] = incidents["category"].isin(STRATEGIC_CODES)
    incidents["sensitive"] = incidents["category"].isin(SENSITIVE_CODES)
    incidents = join_layer(store, INCIDENTS, incidents, index=index, sites=sites)
    findings = data.findings.copy()
    findings["created_by"] = "demo"
    findings["created_at"] = findings["found_at"]
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

    results = store.write({"sites": sites, "walks": data.walks, "incidents": incidents,
                           "findings": findings}, then=log)
    lines = ["DEMODATA (påhittade händelser, inte verkliga) i " + repr(store)]
    labels = {"incidents": "händelser", "findings": "fynd", "sites": "platssamverkansplatser",
              "walks": "trygghetsvandringar"}
    for name, label in labels.items():
        r = results[name]
        lines.append(f"  {label}: {r.inserted} nya, {r.unchanged} fanns redan")
    return "\n".join(lines)
