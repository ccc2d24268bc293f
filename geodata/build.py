"""Rebuild the bundled district files in ``geodata/`` from the shared source data.

This is a maintainer's tool, not used at run time: the product only reads the files
this script writes next to it. Run it from the repository root with the folder that
holds the ``stockholm/`` sources::

    python -m geodata.build /work/shared/data

It writes ``stadsdelar.geojson``, ``stadsdelar_land.geojson``,
``stadsdelsomraden.geojson``, ``population.csv`` and ``reported_crimes_2025.csv``,
then prints a check of every stadsdel's area assignment (listed representative point
against largest overlap) so that a disagreement in new source data is seen at once.
Output is deterministic: the same sources give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geodata import DATA_DIR, MERGERS, slugify, swedish_name

#: Coordinates are stored with 6 decimals (about 0.1 m in Stockholm).
GRID_DEGREES = 1e-6
#: Holes smaller than this (m²) in a merged area are gaps between the source
#: polygons, not real enclaves; none of the 13 source areas has a hole at all.
SLIVER_M2 = 1_000.0

DIVISION_2020 = {"division": "2020", "valid_from": "2020-07-01", "valid_to": "2023-06-30"}
DIVISION_2023 = {"division": "2023", "valid_from": "2023-07-01", "valid_to": None}
MERGED_NAMES = {"jarva": "Järva", "norra-innerstaden": "Norra innerstaden"}


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 6)
    if isinstance(obj, list | tuple):
        return [_round_coords(x) for x in obj]
    return obj


def _to_wgs84_grid(geoms: gpd.GeoSeries) -> list[BaseGeometry]:
    """Reproject to EPSG:4326, snap to the 6-decimal grid and keep the result valid."""
    wgs = geoms.to_crs(4326).values
    snapped = shapely.set_precision(wgs, GRID_DEGREES, mode="valid_output")
    snapped = shapely.make_valid(snapped)
    out = []
    for geom in snapped:
        if geom.geom_type == "GeometryCollection":
            polys = [g for g in geom.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
            geom = shapely.union_all(polys)
        out.append(shapely.orient_polygons(geom))  # RFC 7946: exterior counter-clockwise
    if not all(shapely.is_valid(out)):
        raise ValueError("invalid geometry after snapping to the 6-decimal grid")
    return out


def _write_geojson(path: Path, name: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write a compact RFC 7946 FeatureCollection, one feature per line."""
    lines = []
    for row in rows:
        props = {
            k: (None if isinstance(v, float) and v != v else v)  # NaN -> null
            for k, v in row.items()
            if k != "geometry"
        }
        geometry = mapping(row["geometry"])
        feature = {
            "type": "Feature",
            "properties": props,
            "geometry": {
                "type": geometry["type"],
                "coordinates": _round_coords(geometry["coordinates"]),
            },
        }
        lines.append(json.dumps(feature, ensure_ascii=False, separators=(",", ":")))
    header = f'{{"type":"FeatureCollection","name":"{name}","features":[\n'
    path.write_text(header + ",\n".join(lines) + "\n]}\n", encoding="utf-8")


def _read_sdo_2020(src: Path) -> gpd.GeoDataFrame:
    """The 13 areas of 2020 in EPSG:3011, 2D, with code, name and official number."""
    folder = src / "stockholm" / "stadsdelsomraden_2020"
    shp = gpd.read_file(folder / "sdn_2020.shp")  # warns that M is dropped: expected
    shp = shp.set_crs(3011, allow_override=True)
    shp["geometry"] = shapely.force_2d(shp.geometry.values)
    adm = gpd.read_file(folder / "Adm_area_ny.shp")
    numbers = {row.NAMN: int(row.ADM_ID) for row in adm.itertuples()}
    if set(numbers) != set(shp["Sdn_omarde"]):
        raise ValueError("sdn_2020.shp and Adm_area_ny.shp name different areas")
    gdf = gpd.GeoDataFrame(
        {
            "code": [slugify(n) for n in shp["Sdn_omarde"]],
            "name": list(shp["Sdn_omarde"]),
            "number": [numbers[n] for n in shp["Sdn_omarde"]],
        },
        geometry=shapely.make_valid(shp.geometry.values),
        crs=3011,
    )
    return gdf.sort_values("number").reset_index(drop=True)


def _merge(parts: list[BaseGeometry]) -> BaseGeometry:
    """Union of adjacent areas with the slivers between them filled."""
    union = shapely.make_valid(shapely.union_all(parts))
    polys = list(union.geoms) if union.geom_type == "MultiPolygon" else [union]
    cleaned = []
    for poly in polys:
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= SLIVER_M2]
        cleaned.append(shapely.Polygon(poly.exterior, holes))
    cleaned = [p for p in cleaned if p.area >= SLIVER_M2]
    merged = shapely.union_all(cleaned).buffer(0)
    if merged.geom_type != "Polygon":
        raise ValueError(f"merged area is {merged.geom_type}, expected one Polygon")
    return merged


def build_stadsdelsomraden(src: Path) -> gpd.GeoDataFrame:
    sdo = _read_sdo_2020(src)
    rows = [{**r, **DIVISION_2020} for r in sdo.to_dict("records")]
    by_code = {r["code"]: r for r in rows}
    merged_parts = {p for parts in MERGERS.values() for p in parts}
    rows_2023 = []
    for r in rows:
        if r["code"] not in merged_parts:
            rows_2023.append({**r, **DIVISION_2023})
    for code, parts in MERGERS.items():
        geom = _merge([by_code[p]["geometry"] for p in parts])
        rows_2023.append(
            {
                "code": code,
                "name": MERGED_NAMES[code],
                "number": None,
                "geometry": geom,
                **DIVISION_2023,
            }
        )
    rows_2023.sort(key=lambda r: r["code"])
    out = gpd.GeoDataFrame(rows + rows_2023, geometry="geometry", crs=3011)
    cols = ["code", "name", "number", "division", "valid_from", "valid_to", "geometry"]
    return out[cols]


def _assign(
    stadsdelar: gpd.GeoDataFrame, sdo_2020: gpd.GeoDataFrame, listed: dict[str, str]
) -> pd.DataFrame:
    """Compare the listed 2020 area with the representative point and largest overlap."""
    rows = []
    for sd in stadsdelar.itertuples():
        point = sd.geometry.representative_point()
        by_point = sorted(sdo_2020.loc[sdo_2020.contains(point), "code"])
        inter = sdo_2020.geometry.intersection(sd.geometry).area
        shares = (inter / sd.geometry.area).round(4)
        largest = sdo_2020.loc[inter.idxmax(), "code"]
        others = {
            sdo_2020.loc[i, "code"]: float(s)
            for i, s in shares.items()
            if s >= 0.01 and sdo_2020.loc[i, "code"] != largest
        }
        rows.append(
            {
                "raw": sd.raw,
                "listed": listed[sd.raw],
                "point": by_point,
                "largest": largest,
                "largest_share": float(shares.max()),
                "others": others,
            }
        )
    return pd.DataFrame(rows)


def build_stadsdelar(src: Path, sdo_2020: gpd.GeoDataFrame) -> dict[bool, gpd.GeoDataFrame]:
    folder = src / "stockholm" / "stadsdelar_117"
    with open(folder / "stadsdel_to_stadsdelsomrade.csv", encoding="utf-8") as f:
        listed = {r["name"]: slugify(r["sdo"]) for r in csv.DictReader(f)}
    to_2023 = {p: merged for merged, parts in MERGERS.items() for p in parts}
    out: dict[bool, gpd.GeoDataFrame] = {}
    for land, fname in [
        (False, "stadsdelar_wgs84.geojson"),
        (True, "stadsdelar_utan_vatten_wgs84.geojson"),
    ]:
        raw = gpd.read_file(folder / fname).to_crs(3011)
        raw = raw.rename(columns={"name": "raw"})
        if len(raw) != 117 or set(raw["raw"]) != set(listed):
            raise ValueError(f"{fname}: expected the 117 stadsdelar of the CSV")
        raw["geometry"] = shapely.make_valid(raw.geometry.values)
        check = _assign(raw, sdo_2020, listed)
        label = "land" if land else "full"
        bad = check[
            (check.listed != check.largest)
            | check.point.map(len).ne(1)
            | (check.point.str[0] != check.listed)
        ]
        print(f"[{label}] stadsdelar whose listed area disagrees: {len(bad)}")
        if len(bad):
            print(bad.to_string())
        split = check[check.largest_share < 0.97].sort_values("largest_share")
        print(f"[{label}] stadsdelar with >3 % of their area in another 2020 area:")
        print(split[["raw", "listed", "largest_share", "others"]].to_string(index=False))
        gdf = gpd.GeoDataFrame(
            {
                "name": [swedish_name(n) for n in raw["raw"]],
                "sdo_2020": [listed[n] for n in raw["raw"]],
            },
            geometry=raw.geometry.values,
            crs=3011,
        )
        gdf.insert(0, "code", [slugify(n) for n in gdf["name"]])
        gdf["sdo_2023"] = [to_2023.get(c, c) for c in gdf["sdo_2020"]]
        gdf = gdf[["code", "name", "sdo_2020", "sdo_2023", "geometry"]]
        out[land] = gdf.sort_values("code").reset_index(drop=True)
    return out


def _write_table(src_csv: Path, dest: Path, value_col: str, year: int, known: set[str]) -> None:
    table = pd.read_csv(src_csv)
    name_col, count_col = table.columns[:2]
    table = table[table[name_col] != "Utanför stadsdelsområde"]
    table = pd.DataFrame(
        {
            "sdo_code": [slugify(n) for n in table[name_col]],
            "year": year,
            value_col: table[count_col].astype(int),
        }
    ).sort_values("sdo_code")
    if set(table["sdo_code"]) != known:
        raise ValueError(f"{src_csv.name}: areas {set(table['sdo_code']) ^ known} do not match")
    table.to_csv(dest, index=False, lineterminator="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding stockholm/")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="default: geodata/")
    args = parser.parse_args(argv)
    src: Path = args.source
    dest: Path = args.out

    sdo = build_stadsdelsomraden(src)
    sdo_2020 = sdo[sdo.division == "2020"].reset_index(drop=True)
    stadsdelar = build_stadsdelar(src, sdo_2020)

    for land, fname in [(False, "stadsdelar"), (True, "stadsdelar_land")]:
        gdf = stadsdelar[land]
        gdf["geometry"] = _to_wgs84_grid(gdf.geometry)
        _write_geojson(dest / f"{fname}.geojson", fname, gdf.to_dict("records"))
    sdo["geometry"] = _to_wgs84_grid(sdo.geometry)
    records = sdo.to_dict("records")
    for r in records:
        r["number"] = None if pd.isna(r["number"]) else int(r["number"])
    _write_geojson(dest / "stadsdelsomraden.geojson", "stadsdelsomraden", records)

    current = set(sdo.loc[sdo.division == "2023", "code"])
    _write_table(
        src / "stockholm" / "population_2024_stadsdelsomraden.csv",
        dest / "population.csv",
        "population",
        2024,
        current,
    )
    _write_table(
        src / "stockholm" / "reported_crimes_2025_stadsdelsomraden.csv",
        dest / "reported_crimes_2025.csv",
        "reported_crimes",
        2025,
        current,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
