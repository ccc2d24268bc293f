"""The demo incidents: clustered points with times that follow each category's rhythm."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import geodata
from geodata.demo.geography import Geography, project
from geodata.demo.rates import (
    BASE_SHARE,
    CATEGORY_CODES,
    CATEGORY_PROFILE,
    DARKNESS,
    GENDER_P,
    GENDER_P_DEFAULT,
    INCIDENT_TEXTS,
    KIND_FACTOR,
    KINDS,
    PROFILES,
    RHYTHMS,
    VIOLENCE_CODES,
)
from geodata.demo.specs import DEMO_SOURCE, END_DATE, HUBS, SITE_SPECS, START_DATE
from layers.core.schema import (
    INCIDENTS,
    LOCAL_TZ,
    STORE_EPSG,
)


@dataclass
class _Components:
    """The mixture components incidents are drawn from, one row per component."""

    area: np.ndarray
    kind: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    sigma: np.ndarray
    target: np.ndarray
    stadsdel: np.ndarray
    weight: np.ndarray
    trend: np.ndarray
    at: list[str]
    trends: list[str]


#: Within an area: share of incidents at hubs, around stadsdel centres, diffuse.
_HUB_SHARE, _LOCAL_SHARE, _BACKGROUND_SHARE = 0.5, 0.3, 0.2
#: Local centres: standard deviation in metres.
_LOCAL_SIGMA = 250.0


def _components(geo: Geography) -> _Components:
    """Build the mixture: two Gaussian components per hub and site, one local centre
    and one uniform background per stadsdel."""
    rows: list[tuple] = []
    trends = ["flat"]

    hubs: list[tuple[str, float, float, str, float, float, str, str]] = []
    for spec in SITE_SPECS:
        trend = f"decline:{spec.start_date.isoformat()}" if spec.declines else "flat"
        hubs.append((spec.name, spec.lat, spec.lon, spec.kind, spec.weight,
                     min(100.0, max(60.0, spec.size / 2.5)), spec.at, trend))
    for hub in HUBS:
        hubs.append((hub.name, hub.lat, hub.lon, hub.kind, hub.weight, hub.sigma, hub.at,
                     "grow" if hub.grows else "flat"))

    hub_weight_sum = np.zeros(geo.n_areas)
    located = []
    for name, lat, lon, kind, weight, sigma, at, trend in hubs:
        x, y = project(lat, lon)
        s = geo.locate(np.array([x]), np.array([y]))[0]
        if s < 0:
            raise ValueError(f"demo hub {name} lies outside the city's stadsdelar")
        a = int(geo.sd_area[s])
        hub_weight_sum[a] += weight
        located.append((a, x, y, kind, weight, sigma, at, trend))
    for a, x, y, kind, weight, sigma, at, trend in located:
        if trend not in trends:
            trends.append(trend)
        share = _HUB_SHARE * weight / hub_weight_sum[a]
        t = trends.index(trend)
        rows.append((a, KINDS.index(kind), x, y, sigma, a, -1, 0.45 * share, t, at))
        rows.append((a, KINDS.index(kind), x, y, min(250.0, 2.5 * sigma), a, -1,
                     0.55 * share, t, at))

    sqrt_area = np.sqrt(geo.sd_land_area)
    area_sqrt_sum = np.bincount(geo.sd_area, weights=sqrt_area, minlength=geo.n_areas)
    for s, code_area in enumerate(geo.sd_area):
        a = int(code_area)
        hub_share = _HUB_SHARE if hub_weight_sum[a] > 0 else 0.0
        rest = (1 - hub_share) / (_LOCAL_SHARE + _BACKGROUND_SHARE)
        w = sqrt_area[s] / area_sqrt_sum[a]
        at = f"i {geo.names[s]}"
        x, y = geo.sd_point[s]
        rows.append((a, KINDS.index("local"), x, y, _LOCAL_SIGMA, a, s,
                     rest * _LOCAL_SHARE * w, 0, at))
        rows.append((a, KINDS.index("background"), x, y, 0.0, geo.n_areas + s, s,
                     rest * _BACKGROUND_SHARE * w, 0, at))

    cols = list(zip(*rows, strict=True))
    return _Components(
        area=np.array(cols[0]), kind=np.array(cols[1]), cx=np.array(cols[2], dtype=float),
        cy=np.array(cols[3], dtype=float), sigma=np.array(cols[4], dtype=float),
        target=np.array(cols[5]), stadsdel=np.array(cols[6]),
        weight=np.array(cols[7], dtype=float), trend=np.array(cols[8]), at=list(cols[9]),
        trends=trends,
    )


def _area_counts(geo: Geography, n: int) -> np.ndarray:
    """Split ``n`` over the areas in proportion to reported crimes (largest remainder)."""
    crimes = geodata.reported_crimes()
    crimes = crimes[crimes["year"] == crimes["year"].max()].set_index("sdo_code")
    weights = np.array([float(crimes.loc[c, "reported_crimes"]) for c in geo.area_codes])
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    short = n - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:short]] += 1
    return counts


def _category_p(kind: str) -> np.ndarray:
    factor = KIND_FACTOR[kind]
    p = np.array([BASE_SHARE[c] * factor.get(c, 1.0) for c in CATEGORY_CODES])
    return p / p.sum()


def _day_table() -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    days = pd.date_range(START_DATE, END_DATE, freq="D")
    return days, days.month.to_numpy() - 1, days.day_of_week.to_numpy()


def _time_weights(profile: str, trend: str, days: pd.DatetimeIndex, month: np.ndarray,
                  dow: np.ndarray) -> np.ndarray:
    """Weights of every (day, hour) cell for one time profile and one trend."""
    r = RHYTHMS[profile]
    day_w = np.asarray(r.month)[month] * np.asarray(r.weekday)[dow]
    md = days.strftime("%m-%d")
    ymd = days.strftime("%Y-%m-%d")
    for when, factor in r.special:
        day_w = np.where((md == when) | (ymd == when), day_w * factor, day_w)
    t = np.arange(len(days)) / max(len(days) - 1, 1)
    if trend == "grow":
        day_w = day_w * (0.35 + 1.5 * t)
    elif trend.startswith("decline:"):
        start = np.datetime64(trend.split(":", 1)[1])
        since = (days.to_numpy().astype("datetime64[D]") - start).astype(int)
        day_w = day_w * np.where(since < 0, 1.0, 0.4 + 0.6 * np.exp(-np.maximum(since, 0) / 90))
    cell = day_w[:, None] * np.asarray(r.hour)[None, :]
    if r.weekend_night != 1.0:
        late = np.isin(dow, (4, 5))[:, None] & (np.arange(24) >= 21)[None, :]
        early = np.isin(dow, (5, 6))[:, None] & (np.arange(24) <= 4)[None, :]
        cell = np.where(late | early, cell * r.weekend_night, cell)
    if r.dark_evening:
        dark = 1 + r.dark_evening * np.asarray(DARKNESS)[month]
        evening = (np.arange(24) >= 16) & (np.arange(24) <= 20)
        cell = np.where(evening[None, :], cell * dark[:, None], cell)
    return cell.ravel()


def make_incidents(rng: np.random.Generator, geo: Geography, n: int) -> gpd.GeoDataFrame:
    """Draw ``n`` demo incidents."""
    comp = _components(geo)
    counts = _area_counts(geo, n)

    # Which component each incident comes from: exact counts per area.
    chosen = []
    for a in range(geo.n_areas):
        idx = np.flatnonzero(comp.area == a)
        p = comp.weight[idx] / comp.weight[idx].sum()
        chosen.append(idx[rng.choice(len(idx), size=counts[a], p=p)])
    ci = np.concatenate(chosen) if chosen else np.empty(0, dtype=int)

    x, y = geo.sample(rng, comp.cx[ci], comp.cy[ci], comp.sigma[ci], comp.target[ci])

    # Category by kind of place.
    kind = comp.kind[ci]
    cat = np.empty(n, dtype=int)
    for k, name in enumerate(KINDS):
        m = kind == k
        cat[m] = rng.choice(len(CATEGORY_CODES), size=int(m.sum()), p=_category_p(name))
    codes = np.asarray(CATEGORY_CODES, dtype=object)[cat]

    # Time: one (day, hour) distribution per time profile and trend.
    profile_of = np.array([PROFILES.index(CATEGORY_PROFILE[c]) for c in CATEGORY_CODES])
    profile = profile_of[cat]
    night = (kind == KINDS.index("nightlife")) & (profile == PROFILES.index("violence"))
    profile[night] = PROFILES.index("violence_night")
    trend = comp.trend[ci]
    days, month, dow = _day_table()
    cell = np.empty(n, dtype=int)
    key = profile * len(comp.trends) + trend
    for kv in np.unique(key):
        m = key == kv
        w = _time_weights(PROFILES[kv // len(comp.trends)], comp.trends[kv % len(comp.trends)],
                          days, month, dow)
        cdf = np.cumsum(w)
        cell[m] = np.searchsorted(cdf, rng.random(int(m.sum())) * cdf[-1], side="right")
    cell = np.minimum(cell, len(days) * 24 - 1)
    minute = rng.integers(0, 60, n)
    naive = (np.datetime64(START_DATE.isoformat(), "m")
             + (cell // 24) * np.timedelta64(1, "D") + (cell % 24) * np.timedelta64(1, "h")
             + minute * np.timedelta64(1, "m"))
    occurred = pd.DatetimeIndex(naive.astype("datetime64[ns]")).tz_localize(
        LOCAL_TZ, ambiguous=np.ones(n, dtype=bool), nonexistent="shift_forward")

    # Precision: stadsdel-precision incidents sit on their stadsdel's representative point.
    precision = np.asarray(["exact", "street", "stadsdel"], dtype=object)[
        rng.choice(3, size=n, p=[0.90, 0.07, 0.03])]
    at = np.asarray(comp.at, dtype=object)[ci]
    coarse = np.flatnonzero(precision == "stadsdel")
    sd = comp.stadsdel[ci][coarse]
    unknown = sd < 0
    sd[unknown] = geo.locate(x[coarse[unknown]], y[coarse[unknown]])
    x[coarse] = np.round(geo.sd_point[sd, 0])
    y[coarse] = np.round(geo.sd_point[sd, 1])
    at[coarse] = [f"i {geo.names[s]}" for s in sd]

    # Victim gender for violence.
    gender = np.full(n, None, dtype=object)
    u = rng.random(n)
    for c in VIOLENCE_CODES:
        m = codes == c
        p_man, p_woman = GENDER_P.get(c, GENDER_P_DEFAULT)
        gender[m & (u < p_man)] = "man"
        gender[m & (u >= p_man) & (u < p_man + p_woman)] = "kvinna"

    # Descriptions from templates.
    pick = rng.random(n)
    texts = [INCIDENT_TEXTS[c][int(p * len(INCIDENT_TEXTS[c]))].format(at=a)
             for c, p, a in zip(codes, pick, at, strict=True)]

    order = np.argsort(occurred.asi8, kind="stable")
    frame = pd.DataFrame({
        "id": np.asarray([f"demo:inc-{i:06d}" for i in range(1, n + 1)], dtype=object),
        "occurred_at": occurred[order],
        "category": codes[order],
        "source": np.full(n, DEMO_SOURCE, dtype=object),
        "precision": precision[order],
        "victim_gender": pd.Series(gender[order], dtype=object),
        "description": np.asarray(texts, dtype=object)[order],
    }, columns=[f.name for f in INCIDENTS.input_fields])
    return gpd.GeoDataFrame(frame, geometry=shapely.points(x[order], y[order]), crs=STORE_EPSG)
