"""Tests of the bundled Stockholm district geography in ``geodata``."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import geodata

STOCKHOLM = ZoneInfo("Europe/Stockholm")

NAMES_2020 = {
    "bromma": "Bromma",
    "enskede-arsta-vantor": "Enskede-Årsta-Vantör",
    "farsta": "Farsta",
    "hagersten-alvsjo": "Hägersten-Älvsjö",
    "hasselby-vallingby": "Hässelby-Vällingby",
    "kungsholmen": "Kungsholmen",
    "norrmalm": "Norrmalm",
    "ostermalm": "Östermalm",
    "rinkeby-kista": "Rinkeby-Kista",
    "skarholmen": "Skärholmen",
    "skarpnack": "Skarpnäck",
    "sodermalm": "Södermalm",
    "spanga-tensta": "Spånga-Tensta",
}
MERGED = {"rinkeby-kista", "spanga-tensta", "norrmalm", "ostermalm"}
NAMES_2023 = {
    **{c: n for c, n in NAMES_2020.items() if c not in MERGED},
    "jarva": "Järva",
    "norra-innerstaden": "Norra innerstaden",
}


@pytest.fixture(scope="module")
def areas():
    return geodata.stadsdelsomraden()


@pytest.mark.parametrize("land", [False, True])
def test_117_stadsdelar_with_unique_codes(land):
    sd = geodata.stadsdelar(land=land)
    assert list(sd.columns) == ["code", "name", "sdo_2020", "sdo_2023", "geometry"]
    assert len(sd) == 117
    assert sd["code"].is_unique
    assert sd["name"].is_unique
    assert list(sd["code"]) == sorted(sd["code"])
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", c) for c in sd["code"])
    assert sd.crs.to_epsg() == 3011
    assert sd.is_valid.all()
    assert set(sd["sdo_2020"]) == set(NAMES_2020)
    assert set(sd["sdo_2023"]) == set(NAMES_2023)


def test_full_and_land_have_the_same_districts():
    full = geodata.stadsdelar()
    land = geodata.stadsdelar(land=True)
    cols = ["code", "name", "sdo_2020", "sdo_2023"]
    pd.testing.assert_frame_equal(full[cols], land[cols])
    # water removed: never larger (beyond the sources' generalisation noise, < 0.5 %), and
    # clearly smaller in total
    assert (land.area <= full.area * 1.005).all()
    assert land.area.sum() < 0.9 * full.area.sum()


def test_stadsdel_names_and_codes():
    by_code = geodata.stadsdelar().set_index("code")["name"]
    expected = {
        "hasselby-gard": "Hässelby gård",
        "gamla-stan": "Gamla stan",
        "norra-djurgarden": "Norra Djurgården",
        "sodra-hammarbyhamnen": "Södra Hammarbyhamnen",
        "kungsholmen": "Kungsholmen",
        "lilla-essingen": "Lilla Essingen",
        "norra-angby": "Norra Ängby",
        "orby-slott": "Örby slott",
        "ulvsunda-industriomrade": "Ulvsunda industriområde",
    }
    for code, name in expected.items():
        assert by_code[code] == name
    assert all(geodata.slugify(n) == c for c, n in by_code.items())


def test_slugify_and_swedish_name():
    assert geodata.slugify("Hässelby gård") == "hasselby-gard"
    assert geodata.slugify("Enskede-Årsta-Vantör") == "enskede-arsta-vantor"
    assert geodata.slugify(" Norra  innerstaden ") == "norra-innerstaden"
    assert geodata.swedish_name("SKARPNÄCKS GÅRD") == "Skarpnäcks gård"
    assert geodata.swedish_name("rinkeby-kista") == "Rinkeby-Kista"


def test_stadsdel_sdo_mapping_follows_mergers():
    sd = geodata.stadsdelar()
    merged_into = {p: m for m, parts in geodata.MERGERS.items() for p in parts}
    for row in sd.itertuples():
        assert row.sdo_2023 == merged_into.get(row.sdo_2020, row.sdo_2020)
    by_code = sd.set_index("code")
    assert by_code.loc["gamla-stan", "sdo_2020"] == "sodermalm"
    assert by_code.loc["akalla", "sdo_2023"] == "jarva"
    assert by_code.loc["vasastaden", "sdo_2023"] == "norra-innerstaden"
    assert by_code.loc["enskededalen", "sdo_2020"] == "skarpnack"


def test_13_areas_in_2020_and_11_in_2023(areas):
    assert len(areas) == 24
    a2020 = geodata.stadsdelsomraden(division="2020")
    a2023 = geodata.stadsdelsomraden(division="2023")
    assert dict(zip(a2020["code"], a2020["name"], strict=True)) == NAMES_2020
    assert dict(zip(a2023["code"], a2023["name"], strict=True)) == NAMES_2023
    assert list(a2020.columns) == [
        "code",
        "name",
        "number",
        "division",
        "valid_from",
        "valid_to",
        "geometry",
    ]
    assert (a2020["valid_from"] == date(2020, 7, 1)).all()
    assert (a2020["valid_to"] == date(2023, 6, 30)).all()
    assert (a2023["valid_from"] == date(2023, 7, 1)).all()
    assert a2023["valid_to"].map(lambda v: v is None).all()
    assert areas.is_valid.all() and (areas.geom_type == "Polygon").all()
    with pytest.raises(ValueError):
        geodata.stadsdelsomraden(division="2019")


def test_official_numbers(areas):
    assert str(areas["number"].dtype) == "Int64"
    a2020 = areas[areas.division == "2020"].set_index("code")["number"]
    assert a2020.to_dict() == {
        "rinkeby-kista": 1,
        "spanga-tensta": 3,
        "hasselby-vallingby": 4,
        "bromma": 6,
        "kungsholmen": 8,
        "norrmalm": 9,
        "ostermalm": 10,
        "sodermalm": 11,
        "enskede-arsta-vantor": 14,
        "skarpnack": 15,
        "farsta": 18,
        "hagersten-alvsjo": 22,
        "skarholmen": 24,
    }
    a2023 = areas[areas.division == "2023"].set_index("code")["number"]
    assert a2023.isna().sum() == 2
    assert pd.isna(a2023["jarva"]) and pd.isna(a2023["norra-innerstaden"])
    for code in a2023.index.difference(list(geodata.MERGERS)):
        assert a2023[code] == a2020[code]


@pytest.mark.parametrize("merged", sorted(geodata.MERGERS))
def test_merged_area_equals_its_parts(areas, merged):
    by_key = areas.set_index(["division", "code"]).geometry
    parts = geodata.MERGERS[merged]
    whole = by_key[("2023", merged)]
    parts_area = sum(by_key[("2020", p)].area for p in parts)
    assert whole.area == pytest.approx(parts_area, rel=0.005)
    assert len(whole.interiors) == 0  # no slivers left between the parts
    for p in parts:
        assert whole.intersection(by_key[("2020", p)]).area == pytest.approx(
            by_key[("2020", p)].area, rel=0.001
        )


def test_unchanged_areas_keep_their_geometry(areas):
    by_key = areas.set_index(["division", "code"]).geometry
    for code in set(NAMES_2023) - set(geodata.MERGERS):
        assert by_key[("2023", code)].equals(by_key[("2020", code)])


@pytest.mark.parametrize("land", [False, True])
def test_representative_point_lies_in_its_areas(areas, land):
    sd = geodata.stadsdelar(land=land)
    by_key = areas.set_index(["division", "code"]).geometry
    wrong = []
    for row in sd.itertuples():
        point = row.geometry.representative_point()
        for division, sdo in (("2020", row.sdo_2020), ("2023", row.sdo_2023)):
            if not by_key[(division, sdo)].contains(point):
                wrong.append((row.code, division, sdo))
    assert wrong == []


@pytest.mark.parametrize("crs", [4326, 3006])
def test_other_crs(crs):
    assert geodata.stadsdelar(crs=crs).crs.to_epsg() == crs
    assert geodata.stadsdelsomraden(crs=crs).crs.to_epsg() == crs


def test_results_are_copies():
    sd = geodata.stadsdelar()
    sd.loc[0, "name"] = "ändrad"
    sd.drop(columns="sdo_2020", inplace=True)
    assert geodata.stadsdelar().loc[0, "name"] != "ändrad"
    assert "sdo_2020" in geodata.stadsdelar().columns
    areas = geodata.stadsdelsomraden()
    areas.loc[0, "number"] = 99
    assert geodata.stadsdelsomraden().loc[0, "number"] != 99
    pop = geodata.population()
    pop.loc[0, "population"] = 0
    assert geodata.population().loc[0, "population"] != 0


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (datetime(2023, 6, 30, 23, 59, tzinfo=STOCKHOLM), "2020"),
        (datetime(2023, 6, 30, 23, 59), "2020"),  # naive = Stockholm local time
        (datetime(2023, 7, 1, 0, 0, tzinfo=STOCKHOLM), "2023"),
        (datetime(2023, 7, 1, 0, 0), "2023"),
        (pd.Timestamp("2023-06-30T22:30Z"), "2023"),  # 00:30 on July 1st in Stockholm
        (datetime(2023, 6, 30, 21, 59, tzinfo=UTC), "2020"),  # 23:59 CEST
        (pd.Timestamp("2023-06-30 23:59", tz="Europe/Stockholm"), "2020"),
        (date(2023, 6, 30), "2020"),
        (date(2023, 7, 1), "2023"),
        (date(2021, 1, 1), "2020"),
        (date(2026, 1, 1), "2023"),
        ("2023-07-01T00:00:00+02:00", "2023"),
        ("2023-06-30T23:30:00+01:00", "2023"),  # 00:30 CEST
    ],
)
def test_division_for(when, expected):
    assert geodata.division_for(when) == expected


def test_division_for_rejects_missing():
    with pytest.raises(ValueError):
        geodata.division_for(pd.NaT)
    with pytest.raises((TypeError, ValueError)):
        geodata.division_for(None)  # type: ignore[arg-type]


def test_population():
    pop = geodata.population()
    assert list(pop.columns) == ["sdo_code", "year", "population"]
    assert set(pop["sdo_code"]) == set(NAMES_2023)
    assert (pop["year"] == 2024).all()
    assert pop["population"].sum() == 995_574 - 3_637
    assert pop.set_index("sdo_code").loc["jarva", "population"] == 95_220


def test_reported_crimes():
    crimes = geodata.reported_crimes()
    assert list(crimes.columns) == ["sdo_code", "year", "reported_crimes"]
    assert set(crimes["sdo_code"]) == set(NAMES_2023)
    assert (crimes["year"] == 2025).all()
    assert crimes.set_index("sdo_code").loc["norra-innerstaden", "reported_crimes"] == 39_745


def test_data_is_bundled_in_the_package():
    names = {p.name for p in geodata.DATA_DIR.iterdir()}
    for name in [
        "stadsdelar.geojson",
        "stadsdelar_land.geojson",
        "stadsdelsomraden.geojson",
        "population.csv",
        "reported_crimes_2025.csv",
        "README.md",
        "LICENSE-CC0",
    ]:
        assert name in names
    size = sum(p.stat().st_size for p in geodata.DATA_DIR.iterdir() if p.is_file())
    assert size < 3_000_000
