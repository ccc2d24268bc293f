"""Deterministic demo data for Trygghetskartan.

:func:`generate_demo` builds a complete, plausible but entirely invented data set for
Stockholm on top of the real district geography bundled in :mod:`geodata`:

* **sites** — 15 platssamverkan places at real squares and centres (Kista torg,
  Rinkeby torg, Medborgarplatsen …), as polygons 80–250 m across;
* **incidents** — police-reported crimes and events 2024-01-01..2025-12-31. Each
  current stadsdelsområde gets a share proportional to its reported crimes in 2025
  (BRÅ). Inside an area the points are a mixture of Gaussian clusters around squares
  and stations, looser clusters around each stadsdel's centre and a diffuse
  background; night-life streets (Stureplan, Götgatan/Medborgarplatsen) draw
  weekend-night violence. Times follow a season, weekday and hour rhythm per
  category. A few hot spots grow from 2024 to 2025 and two site areas decline after
  their platssamverkan started, so the priority analysis and briefs find something;
* **walks** — about 20 trygghetsvandringar 2024–2025, mostly autumn evenings;
* **findings** — about 300 findings from those walks, near each walk's area.

Everything is drawn from ``numpy.random.default_rng(seed)``: the same seed gives
byte-identical frames. All ids start with ``demo:`` and every incident's ``source`` is
``demo``, so the app can label the data as demo data. The organisations named are
typical roles (stadsdelsförvaltning, lokalpolisområde, the municipal housing
companies); contacts use the fictitious domain ``exempel.se``; no person is named.

Modules: :mod:`.specs` (the places, hubs and walks written by hand), :mod:`.rates`
(shares, rhythms and texts the draws follow), :mod:`.geography` (the bundled areas as
sampling targets), :mod:`.incidents` and :mod:`.sites_walks` (sites, walks, findings).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geodata.demo.geography import Geography
from geodata.demo.incidents import make_incidents
from geodata.demo.sites_walks import make_findings, make_sites, make_walks
from geodata.demo.specs import (
    DEFAULT_SEED,
    DEMO_SOURCE,
    END_DATE,
    HUBS,
    SITE_SPECS,
    START_DATE,
    WALK_SPECS,
    HubSpec,
    SiteSpec,
    WalkSpec,
)

__all__ = [
    "DEFAULT_SEED",
    "DEMO_SOURCE",
    "END_DATE",
    "HUBS",
    "SITE_SPECS",
    "START_DATE",
    "WALK_SPECS",
    "DemoData",
    "HubSpec",
    "SiteSpec",
    "WalkSpec",
    "generate_demo",
]


@dataclass
class DemoData:
    """The demo layers: GeoDataFrames in EPSG:3011 and the walks table."""

    incidents: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    walks: pd.DataFrame


def generate_demo(seed: int = DEFAULT_SEED, n_incidents: int = 60_000) -> DemoData:
    """Generate the demo data set; the same ``seed`` always gives identical frames.

    ``n_incidents`` is the number of incidents (exactly). Sites, walks and findings
    do not depend on it. Columns are the non-derived fields of the layer schemas in
    :mod:`layers.core.schema` (plus ``geometry``); times are aware, Europe/Stockholm.
    """
    if n_incidents < 0:
        raise ValueError("n_incidents must be zero or more")
    geo = Geography.load()
    site_rng, incident_rng, walk_rng, finding_rng = np.random.default_rng(seed).spawn(4)
    sites = make_sites(site_rng, geo)
    incidents = make_incidents(incident_rng, geo, n_incidents)
    walks = make_walks(walk_rng, geo)
    findings = make_findings(finding_rng, geo, walks)
    return DemoData(incidents=incidents, findings=findings, sites=sites, walks=walks)
