"""Tests of the police events importer (``layers.io.polisen``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pyproj import Transformer
from shapely.geometry import Point

import geodata
from layers.core.schema import INCIDENT_CATEGORIES, PRECISIONS
from layers.io.polisen import (
    GAZETTEER,
    POLICE_TYPE_TO_CATEGORY,
    PlaceMatcher,
    PoliceFormatError,
    PoliceReport,
    read_police_events,
)

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "polisen_sample10.json"
REAL = DATA / "polisen_stockholm.json"
CODES = {c.code for c in INCIDENT_CATEGORIES}
#: The municipality point every Stockholm event carries ("lat,lon").
STOCKHOLM_GPS = "59.329324,18.068581"


def municipality_point() -> Point:
    to_3011 = Transformer.from_crs(4326, 3011, always_xy=True)
    return Point(to_3011.transform(18.068581, 59.329324))


def event(n: int = 1, **fields: object) -> dict:
    """A well-formed event in the API's format; keyword arguments override fields."""
    base = {
        "id": 900000 + n,
        "datetime": "2025-03-04 9:05:00 +01:00",
        "name": "4 mars 08.50, Misshandel, Stockholm",
        "summary": "Misshandel utomhus.",
        "url": f"/aktuellt/handelser/2025/mars/4/{n}/",
        "type": "Misshandel",
        "location": {"name": "Stockholm", "gps": STOCKHOLM_GPS},
    }
    base.update(fields)
    return base


def write(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "events.json"
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stadsdelar():
    return geodata.stadsdelar(crs=3011)


@pytest.fixture(scope="module")
def sample():
    return read_police_events(SAMPLE)


@pytest.fixture(scope="module")
def real():
    return read_police_events(REAL)


@pytest.fixture(scope="module")
def matcher(stadsdelar):
    return PlaceMatcher(stadsdelar)


# --- the 10-event sample ----------------------------------------------------------------


def test_sample_ids_and_columns(sample):
    frame, report = sample
    assert list(frame["id"]) == [
        "polisen:621788",
        "polisen:621796",
        "polisen:621840",
        "polisen:621859",
        "polisen:621876",
        "polisen:621900",
        "polisen:621901",
        "polisen:621930",
        "polisen:621941",
        "polisen:621948",
    ]
    assert list(frame.columns) == [
        "id",
        "occurred_at",
        "category",
        "source",
        "precision",
        "victim_gender",
        "description",
        "stadsdel",
        "geometry",
    ]
    assert frame.crs.to_epsg() == 3011
    assert (frame["source"] == "polisen").all()
    assert frame["victim_gender"].isna().all()
    assert report.n_events == 10
    assert report.n_stadsdel + report.n_kommun == 10


def test_sample_times_are_stockholm_time_with_one_digit_hours(sample):
    frame, _ = sample
    times = frame["occurred_at"]
    assert str(times.dt.tz) == "Europe/Stockholm"
    # the event time comes from the name ("16 januari 13.00, Brand, Stockholm"),
    # not from `datetime`, which is when the police published the event
    assert times.iloc[0] == pd.Timestamp("2026-01-16 13:00", tz="Europe/Stockholm")
    # published "2026-01-17 7:24:39 +01:00" (one-digit hour), happened 06.32
    assert times.iloc[3] == pd.Timestamp("2026-01-17 06:32", tz="Europe/Stockholm")
    assert times.iloc[7] == pd.Timestamp("2026-01-17 23:39", tz="Europe/Stockholm")
    assert times.isna().sum() == 0


def test_sample_categories(sample):
    frame, report = sample
    assert list(frame["category"]) == [
        "brand",  # Brand
        "ovrigt",  # Sjukdom/olycksfall
        "stold",  # Stöld
        "brand",  # Brand
        "trafikolycka",  # Trafikolycka
        "vald_hot_tjansteman",  # Våld/hot mot tjänsteman
        "ovrigt",  # Larm Överfall
        "ovrigt",  # Larm Överfall
        "ovrigt",  # Rattfylleri
        "stold",  # Stöld
    ]
    assert report.unknown_types == {}


def test_sample_places(sample):
    frame, report = sample
    assert list(frame["stadsdel"]) == [
        "husby",  # "en lägenhet i Husby"
        "sodermalm",  # "i Hornstull" (gazetteer)
        None,  # "på varuhus"
        "racksta",  # "i Råcksta"
        "grondal",  # "i höjd med Gröndal"
        None,  # "på ett Systembolag"
        "skarholmen",  # "en butik i Skärholmen"
        None,  # "vid buss"
        "nockeby",  # "i Nockeby"
        None,  # "i matbutik"
    ]
    assert list(frame["precision"]) == [
        "kommun" if code is None else "stadsdel" for code in frame["stadsdel"]
    ]
    assert (report.n_stadsdel, report.n_kommun) == (6, 4)


def test_sample_description_has_summary_and_absolute_url(sample):
    frame, _ = sample
    first = frame["description"].iloc[0]
    assert first.startswith("Rök från en lägenhet i Husby")
    assert (
        "https://polisen.se/aktuellt/handelser/2026/januari/16/16-januari-13.00-brand-stockholm/"
        in first
    )


def test_hornstull_is_placed_in_sodermalm(sample, stadsdelar):
    frame, _ = sample
    row = frame[frame["description"].str.startswith("Skadad person utomhus i Hornstull.")]
    assert len(row) == 1
    row = row.iloc[0]
    assert row["stadsdel"] == "sodermalm"
    assert row["precision"] == "stadsdel"
    sodermalm = stadsdelar.set_index("code").geometry["sodermalm"]
    assert row.geometry.equals(sodermalm.point_on_surface())
    assert sodermalm.contains(row.geometry)


def test_event_without_known_place_keeps_the_municipality_point(sample):
    frame, _ = sample
    row = frame.set_index("id").loc["polisen:621840"]  # "Kvinna stjäl kläder ... på varuhus."
    assert row["precision"] == "kommun"
    assert row["stadsdel"] is None
    assert row.geometry.distance(municipality_point()) < 0.01


def test_every_placed_event_lies_in_its_stadsdel(real, stadsdelar):
    frame, _ = real
    polygons = stadsdelar.set_index("code").geometry
    placed = frame[frame["precision"] == "stadsdel"]
    assert all(
        polygons[code].contains(pt)
        for code, pt in zip(placed["stadsdel"], placed.geometry, strict=True)
    )
    unplaced = frame[frame["precision"] == "kommun"]
    assert unplaced["stadsdel"].isna().all()
    assert (unplaced.geometry.distance(municipality_point()) < 0.01).all()


# --- the real Stockholm file ------------------------------------------------------------


def test_real_file(real, stadsdelar):
    frame, report = real
    assert len(frame) == 3312
    assert frame["id"].is_unique
    assert frame["id"].str.fullmatch(r"polisen:\d+").all()
    assert set(frame["category"]) <= CODES
    assert set(frame["precision"]) <= set(PRECISIONS)
    assert set(frame["stadsdel"].dropna()) <= set(stadsdelar["code"])
    assert frame["occurred_at"].notna().all()
    assert frame.geometry.notna().all() and frame.geometry.geom_type.eq("Point").all()
    assert report.n_events == 3312
    assert report.n_stadsdel + report.n_kommun == 3312
    assert report.n_stadsdel == int((frame["precision"] == "stadsdel").sum())
    assert 0.40 <= report.n_stadsdel / report.n_events <= 0.65
    assert report.unknown_types == {}
    # A spread over the city, not a handful of districts.
    assert frame["stadsdel"].nunique() >= 90
    assert frame["category"].nunique() >= 15


def test_real_file_types_are_all_in_the_table():
    events = json.loads(REAL.read_text(encoding="utf-8"))
    assert {e["type"] for e in events} <= set(POLICE_TYPE_TO_CATEGORY)


def test_type_table_uses_valid_codes():
    assert set(POLICE_TYPE_TO_CATEGORY.values()) <= CODES
    assert POLICE_TYPE_TO_CATEGORY["Rån väpnat"] == "ran"
    assert POLICE_TYPE_TO_CATEGORY["Mord/dråp, försök"] == "dodligt_vald"
    assert POLICE_TYPE_TO_CATEGORY["Motorfordon, stöld"] == "tillgrepp_motorfordon"
    assert POLICE_TYPE_TO_CATEGORY["Stöld/inbrott"] == "inbrott"
    assert POLICE_TYPE_TO_CATEGORY["Explosion"] == "skottlossning"


def test_summary_sv_of_the_real_file(real):
    _, report = real
    placed = f"{report.n_stadsdel // 1000} {report.n_stadsdel % 1000:03d}"
    kommun = f"{report.n_kommun // 1000} {report.n_kommun % 1000:03d}"
    assert report.summary_sv() == (
        f"3 312 händelser lästa: {placed} placerade i stadsdel, "
        f"{kommun} endast på kommunnivå (visas inte som punkter)."
    )


def test_summary_sv_thousands_and_unknown_types():
    report = PoliceReport(
        n_events=3312, n_stadsdel=1700, n_kommun=1612, unknown_types={"Nytt brott": 2}
    )
    assert report.summary_sv() == (
        "3 312 händelser lästa: 1 700 placerade i stadsdel, 1 612 endast på kommunnivå "
        "(visas inte som punkter). Okända händelsetyper, lästa som övrigt: Nytt brott (2)."
    )


# --- place matching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Personrån på Nybohov.", None),  # on a boundary: not in the gazetteer
        ("Brand i Hässelby gård.", "hasselby-gard"),  # longest name first
        ("Bråk i Hässelby.", None),  # Hässelby is three stadsdelar
        ("Bil i Farsta strand.", "farsta-strand"),
        ("Inbrott i Farsta.", "farsta"),
        ("Larm från Kistas bibliotek.", "kista"),  # genitive -s
        ("Bråk i Skärholmens centrum.", "skarholmen"),
        ("En kista hittades i en källare.", None),  # common noun, lower case
        ("I Kista greps en man.", "kista"),
        ("Bråk vid slussen i kanalen.", None),  # "slussen" = the lock
        ("Bråk vid Slussen.", "sodermalm"),
        ("Bil som kör söder ut.", None),
        ("Rån på Söder.", "sodermalm"),
        ("I en lägenhet inom Kungsholmens stadsdelsområde greps en man.", None),
        ("Insats i Rinkeby-Kista.", None),
        ("Match mellan Djurgårdens IF och AIK.", None),
        ("Polisen spärrar av en del av G:a Stan.", "gamla-stan"),
        ("Trafikolycka i gamla stan.", "gamla-stan"),  # case-insensitive
        ("Förföljande från Västertorp till Bromma.", "vastertorp"),  # first mention
        ("Cyklist påkörd i Ulvsunda industriområde.", "ulvsunda-industriomrade"),
        ("Berusad man i Ulvsunda.", "ulvsunda"),
        ("Slagsmål på Sergels torg.", "norrmalm"),
        ("Bråk på T-centralen.", "norrmalm"),
        ("Skottlossning på Gärdet.", "ladugardsgardet"),
        ("Misshandel i Tensta centrum.", "tensta"),
        ("Brand i Hammarby sjöstad.", "sodra-hammarbyhamnen"),
        ("Hammarbyvägen avstängd.", None),  # whole words only
        ("Sundbyberg.", None),
        ("Trafikolycka i norra Ängby.", "norra-angby"),
        ("", None),
    ],
)
def test_place_matching(matcher, text, code):
    assert matcher.find(text) == code


def test_gazetteer_targets_are_stadsdelar(stadsdelar):
    names = {n.casefold() for n in stadsdelar["name"]}
    assert {t.casefold() for t in GAZETTEER.values()} <= names


def test_events_outside_stockholm_are_not_matched(tmp_path):
    path = write(
        tmp_path,
        [
            event(
                1,
                summary="Inbrott i Sundby.",
                location={"name": "Katrineholm", "gps": "58.995,16.207"},
            ),
            event(2, summary="Inbrott i Sundby."),
        ],
    )
    frame, report = read_police_events(path)
    assert list(frame["precision"]) == ["kommun", "stadsdel"]
    assert list(frame["stadsdel"]) == [None, "sundby"]
    to_3011 = Transformer.from_crs(4326, 3011, always_xy=True)
    assert frame.geometry.iloc[0].distance(Point(to_3011.transform(16.207, 58.995))) < 0.01
    assert (report.n_stadsdel, report.n_kommun) == (1, 1)


# --- types, duplicates ------------------------------------------------------------------


def test_unknown_and_summary_types(tmp_path):
    path = write(
        tmp_path,
        [
            event(1, type="Rymningsförsök"),
            event(2, type="Rymningsförsök"),
            event(3, type="Sammanfattning natt", summary="Lugn natt i Tensta."),
            event(4, type="Trafikolycka, övrig"),
            event(5, type="Rån väpnat"),
        ],
    )
    frame, report = read_police_events(path)
    assert list(frame["category"]) == ["ovrigt", "ovrigt", "ovrigt", "trafikolycka", "ran"]
    assert report.unknown_types == {"Rymningsförsök": 2}
    assert "Rymningsförsök (2)" in report.summary_sv()
    assert frame["stadsdel"].iloc[2] == "tensta"


def test_repeated_ids_are_kept_once(tmp_path):
    path = write(tmp_path, [event(1), event(2), event(1)])
    frame, report = read_police_events(path)
    assert list(frame["id"]) == ["polisen:900001", "polisen:900002"]
    assert report.n_events == 2 and report.n_duplicates == 1
    assert "1 dubbletter" in report.summary_sv()


def test_summer_time_offsets(tmp_path):
    path = write(tmp_path, [event(1, datetime="2025-07-01 23:30:00 +02:00",
                                  name="1 juli 23.30, Misshandel, Stockholm")])
    frame, _ = read_police_events(path)
    assert frame["occurred_at"].iloc[0] == pd.Timestamp("2025-07-01 23:30", tz="Europe/Stockholm")


# --- malformed files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message", "index", "field"),
    [
        ('{"id": 1}', "Filen ska innehålla en JSON-lista", None, None),
        ("[{", "Filen är inte giltig JSON", None, None),
        ([event(1), "text"], "Händelse 2: är inte ett JSON-objekt", 2, None),
        (
            [event(1), {k: v for k, v in event(2).items() if k != "datetime"}],
            "Händelse 2: fältet 'datetime' saknas.",
            2,
            "datetime",
        ),
        (
            [{k: v for k, v in event(1).items() if k != "id"}],
            "Händelse 1: fältet 'id' saknas.",
            1,
            "id",
        ),
        ([event(1, type="  ")], "Händelse 1: fältet 'type' är tomt.", 1, "type"),
        (
            [event(1), event(2), event(3, datetime="igår kväll")],
            "Händelse 3: fältet 'datetime' har ett ogiltigt värde",
            3,
            "datetime",
        ),
        (
            [event(1, location={"name": "Stockholm"})],
            "fältet 'location.gps' saknas",
            1,
            "location.gps",
        ),
    ],
)
def test_malformed_files_are_refused_in_swedish(tmp_path, content, message, index, field):
    path = write(tmp_path, content)
    with pytest.raises(PoliceFormatError) as caught:
        read_police_events(path)
    assert message in str(caught.value)
    assert caught.value.index == index
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)


def test_empty_list_gives_empty_frame(tmp_path):
    frame, report = read_police_events(write(tmp_path, []))
    assert len(frame) == 0
    assert "occurred_at" in frame.columns and frame.crs.to_epsg() == 3011
    assert report.summary_sv().startswith("0 händelser lästa")
