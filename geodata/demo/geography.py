"""The bundled districts as sampling targets: areas, their stadsdelar, points inside them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

import geodata
from layers.core.schema import (
    STORE_EPSG,
)

_TO_STORE = Transformer.from_crs(4326, STORE_EPSG, always_xy=True)


def project(lat: float, lon: float) -> tuple[float, float]:
    """WGS 84 latitude and longitude in the store's coordinates (x, y)."""
    x, y = _TO_STORE.transform(lon, lat)
    return float(x), float(y)


@dataclass
class Geography:
    """Stadsdelar and areas as sampling targets.

    Targets ``0..A-1`` are the current areas, ``A..A+S-1`` the stadsdelar. A point is
    inside a target when it is inside both its land polygon and its full polygon.
    """

    codes: list[str]
    names: list[str]
    sd_area: np.ndarray
    area_codes: list[str]
    land: list[BaseGeometry]
    full: list[BaseGeometry]
    bounds: np.ndarray
    sd_land_area: np.ndarray
    sd_point: np.ndarray

    @classmethod
    def load(cls) -> Geography:
        land = geodata.stadsdelar(crs=STORE_EPSG, land=True)
        full = geodata.stadsdelar(crs=STORE_EPSG).set_index("code").loc[land["code"]]
        area_codes = sorted(set(land["sdo_2023"]))
        sd_area = np.array([area_codes.index(a) for a in land["sdo_2023"]])
        land_geoms = list(land.geometry.values)
        full_geoms = list(full.geometry.values)
        area_land = [shapely.union_all(np.array(land_geoms)[sd_area == i])
                     for i in range(len(area_codes))]
        area_full = [shapely.union_all(np.array(full_geoms)[sd_area == i])
                     for i in range(len(area_codes))]
        targets_land = area_land + land_geoms
        targets_full = area_full + full_geoms
        for g in targets_land + targets_full:
            shapely.prepare(g)
        reps = shapely.point_on_surface(np.array(land_geoms))
        return cls(
            codes=list(land["code"]),
            names=list(land["name"]),
            sd_area=sd_area,
            area_codes=area_codes,
            land=targets_land,
            full=targets_full,
            bounds=shapely.bounds(np.array(targets_land)),
            sd_land_area=shapely.area(np.array(land_geoms)),
            sd_point=np.column_stack([shapely.get_x(reps), shapely.get_y(reps)]),
        )

    @property
    def n_areas(self) -> int:
        return len(self.area_codes)

    def stadsdel_index(self, code: str) -> int:
        return self.codes.index(code)

    def locate(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index of the stadsdel (land polygon) holding each point, -1 if none."""
        out = np.full(len(x), -1)
        for s in range(len(self.codes)):
            target = self.land[self.n_areas + s]
            missing = np.flatnonzero(out < 0)
            if not len(missing):
                break
            inside = shapely.contains_xy(target, x[missing], y[missing])
            out[missing[inside]] = s
        # A point exactly on the edge between two stadsdelar goes to the first.
        for s in range(len(self.codes)):
            missing = np.flatnonzero(out < 0)
            if not len(missing):
                break
            touches = shapely.intersects_xy(self.land[self.n_areas + s], x[missing], y[missing])
            out[missing[touches]] = s
        return out

    def sample(self, rng: np.random.Generator, cx: np.ndarray, cy: np.ndarray,
               sigma: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Draw one point per row inside its target, rounded to whole metres.

        A row with ``sigma > 0`` is Gaussian around (cx, cy); with ``sigma <= 0``
        uniform in the target. Points outside the target are drawn again.
        """
        n = len(cx)
        x = np.empty(n)
        y = np.empty(n)
        pending = np.arange(n)
        for _ in range(500):
            if not len(pending):
                return x, y
            t = target[pending]
            s = sigma[pending]
            k = len(pending)
            gx = cx[pending] + s * rng.standard_normal(k)
            gy = cy[pending] + s * rng.standard_normal(k)
            b = self.bounds[t]
            ux = b[:, 0] + (b[:, 2] - b[:, 0]) * rng.random(k)
            uy = b[:, 1] + (b[:, 3] - b[:, 1]) * rng.random(k)
            px = np.round(np.where(s > 0, gx, ux))
            py = np.round(np.where(s > 0, gy, uy))
            ok = np.zeros(k, dtype=bool)
            for tid in np.unique(t):
                m = t == tid
                ok[m] = (shapely.contains_xy(self.land[tid], px[m], py[m])
                         & shapely.contains_xy(self.full[tid], px[m], py[m]))
            x[pending[ok]] = px[ok]
            y[pending[ok]] = py[ok]
            pending = pending[~ok]
        raise RuntimeError("could not place demo points inside their districts")
