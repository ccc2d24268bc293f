"""Importing the police's events with ``trygghetskartan import --source polisen``.

The real file (3 312 Stockholm events, 2022-09..2026-08) must load whole, say how many
events were placed in a stadsdel and how many only in the municipality, never give a
municipality-level event a stadsdel (their point is the city centre), and load nothing
new the second time. Event times come from the event's name, not from when the police
published it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from layers.io.polisen import event_time_from_name, read_police_events
from mapapp.cli import cli

DATA = Path(__file__).parent / "data"
REAL = DATA / "polisen_stockholm.json"
TZ = "Europe/Stockholm"


def run_import(runner, data_dir: Path, path: Path):
    result = runner.invoke(cli, ["import", "incidents", str(path), "--source", "polisen",
                                 "--data-dir", str(data_dir)])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def sv(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def event(n: int, name: str, published: str, summary: str = "Misshandel i Kista.") -> dict:
    return {
        "id": 800000 + n,
        "datetime": published,
        "name": name,
        "summary": summary,
        "url": f"/aktuellt/handelser/{n}/",
        "type": "Misshandel",
        "location": {"name": "Stockholm", "gps": "59.329324,18.068581"},
    }


def test_real_file_loads_every_event_once(runner, store, data_dir):
    _, report = read_police_events(REAL)
    assert report.n_events == 3312

    first = run_import(runner, data_dir, REAL)

    assert first.exit_code == 0, first.output
    assert "3312 nya rader sparade" in first.output
    assert f"{sv(report.n_stadsdel)} placerade i stadsdel" in first.output
    assert f"{sv(report.n_kommun)} endast på kommunnivå" in first.output
    # municipality-level events are in Stockholm, just not placed: never "outside"
    assert "utanför" not in first.output

    frame = store.read("incidents")
    assert len(frame) == 3312
    assert frame["id"].is_unique and frame["id"].str.startswith("polisen:").all()
    assert (frame["source"] == "polisen").all()
    counts = frame["precision"].value_counts().to_dict()
    assert counts == {"stadsdel": report.n_stadsdel, "kommun": report.n_kommun}
    kommun = frame[frame["precision"] == "kommun"]
    assert kommun[["stadsdel", "sdo_code", "sdo_name", "site_id"]].isna().all().all()
    placed = frame[frame["precision"] == "stadsdel"]
    assert placed[["stadsdel", "sdo_code", "sdo_name"]].notna().all().all()
    assert placed["site_id"].isna().all()
    log = store.read("import_log")
    assert log["rows_outside"].tolist() == [0]

    second = run_import(runner, data_dir, REAL)

    assert second.exit_code == 0, second.output
    assert "0 nya rader sparade, 3312 fanns redan" in second.output
    assert store.count("incidents") == 3312


def test_real_file_times_come_from_the_event_names(runner, store, data_dir):
    assert run_import(runner, data_dir, REAL).exit_code == 0
    frame = store.read("incidents").set_index("id")
    # published "2022-09-26 15:55:23 +02:00", name "26 september 14:21, Mord/dråp, …"
    assert frame.loc["polisen:371971", "occurred_at"] == pd.Timestamp("2022-09-26 14:21",
                                                                      tz=TZ)
    events = json.loads(REAL.read_text(encoding="utf-8"))
    published = pd.Series({
        f"polisen:{e['id']}": pd.to_datetime(e["datetime"], format="%Y-%m-%d %H:%M:%S %z",
                                             utc=True)
        for e in events}).dt.tz_convert(TZ)
    delay = (published - frame["occurred_at"].reindex(published.index)).dt.total_seconds()
    # every name has a time (minutes only), and events are published after they happen
    assert frame["occurred_at"].dt.second.eq(0).all()
    assert (delay != 0).mean() > 0.99
    assert 0 < delay.median() < 6 * 3600
    assert (delay > -24 * 3600).mean() > 0.99
    assert frame["occurred_at"].dt.year.between(2022, 2026).all()


def test_time_from_name_and_fallback(tmp_path):
    events = [
        # the name's time, same day as published
        event(1, "17 januari 23.39, Misshandel, Stockholm", "2026-01-18 8:52:55 +01:00"),
        # a December event published in January belongs to the year before
        event(2, "31 december 23.50, Misshandel, Stockholm", "2026-01-01 1:05:00 +01:00"),
        # hour:minute with a colon, and summer time
        event(3, "01 juli 00:30, Misshandel, Stockholm", "2023-07-01 9:10:00 +02:00"),
        # no time in the name: the publication time is kept
        event(4, "Sammanfattning natt, Stockholm", "2025-03-02 7:00:00 +01:00"),
        # a date that does not exist: the publication time is kept
        event(5, "30 februari 12.00, Misshandel, Stockholm", "2025-03-02 7:00:00 +01:00"),
    ]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events, ensure_ascii=False), encoding="utf-8")

    frame, report = read_police_events(path)

    assert list(frame["occurred_at"]) == [
        pd.Timestamp("2026-01-17 23:39", tz=TZ),
        pd.Timestamp("2025-12-31 23:50", tz=TZ),
        pd.Timestamp("2023-07-01 00:30", tz=TZ),
        pd.Timestamp("2025-03-02 07:00", tz=TZ),
        pd.Timestamp("2025-03-02 07:00", tz=TZ),
    ]
    assert str(frame["occurred_at"].dt.tz) == TZ
    assert report.n_time_from_published == 2
    assert "2 händelser saknar läsbar tidpunkt i rubriken" in report.summary_sv()


def test_event_time_drives_the_division(runner, store, data_dir, tmp_path):
    """Happened 2023-06-30 23:30 (Rinkeby-Kista), published 2023-07-01 (Järva)."""
    path = tmp_path / "events.json"
    path.write_text(json.dumps([event(1, "30 juni 23.30, Misshandel, Stockholm",
                                      "2023-07-01 8:15:00 +02:00")]), encoding="utf-8")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 0, result.output
    row = store.read("incidents").iloc[0]
    assert row["occurred_at"] == pd.Timestamp("2023-06-30 23:30", tz=TZ)
    assert row["stadsdel"] == "kista"
    assert row["sdo_code"] == "rinkeby-kista"


@pytest.mark.parametrize("name, published, expected", [
    ("17 januari 23.39, Misshandel, Stockholm", "2026-01-18 08:52:55+01:00",
     "2026-01-17 23:39"),
    ("28 december 23:24, Mord/dråp, försök, Stockholm", "2023-01-02 10:00+01:00",
     "2022-12-28 23:24"),
    ("05 oktober 02:04, Brand, Stockholm", "2022-10-05 07:05:09+02:00", "2022-10-05 02:04"),
    # announced ahead of time: the nearest year, not a year back
    ("01 maj 08:00, Övrigt, Stockholm", "2023-04-28 07:30:18+02:00", "2023-05-01 08:00"),
    # 29 februari only exists in leap years
    ("29 februari 10.00, Stöld, Stockholm", "2024-03-01 09:00+01:00", "2024-02-29 10:00"),
    ("7 Mars 9.05, Stöld, Stockholm", "2025-03-07 10:00+01:00", "2025-03-07 09:05"),
])
def test_event_time_from_name(name, published, expected):
    got = event_time_from_name(name, pd.Timestamp(published))
    assert got == pd.Timestamp(expected, tz=TZ)
    assert str(got.tz) == TZ


@pytest.mark.parametrize("name", [
    None, "", "Sammanfattning natt, Stockholm", "17 jan 23.39, Brand, Stockholm",
    "17 januari, Brand, Stockholm", "17 januari 25.10, Brand, Stockholm",
    "31 april 10.00, Brand, Stockholm",
])
def test_event_time_from_name_gives_up(name):
    assert event_time_from_name(name, pd.Timestamp("2025-05-01 12:00+02:00")) is None


def test_not_a_police_file_is_rejected(runner, store, data_dir, tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}),
                    encoding="utf-8")
    result = run_import(runner, data_dir, path)
    assert result.exit_code == 1
    assert "JSON-lista med polisens händelser" in result.output
    assert store.count("incidents") == 0


def test_police_file_without_source_gets_a_hint(runner, store, data_dir):
    result = runner.invoke(cli, ["import", "incidents", str(DATA / "polisen_sample10.json"),
                                 "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "Läs in den med --source polisen" in result.output
    assert store.count("incidents") == 0
