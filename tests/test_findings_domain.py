"""The findings domain without the web: status workflow, history, duplicates, exports, photos.

Store.update with ``expect`` and ``rows`` (the status change and its history row in
one transaction) is tested here on the GeoPackage store.
"""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from PIL import ExifTags, Image

from layers.core.schema import FINDINGS, LOCAL_TZ, STORE_EPSG
from layers.domain import findings as core
from layers.io.importer import join_layer
from layers.io.photos import PhotoRejected, clean_photo, is_photo_name, read_gps, store_photo
from layers.store.base import Query

#: A place in Husby (WGS 84) and the same place in the store CRS.
HUSBY = (59.40912, 17.92810)


def point(lat: float, lon: float) -> shapely.Point:
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(STORE_EPSG).iloc[0]


def add_finding(store, fid: str, *, category: str = "belysning", status: str = "ny",
                owner: str | None = None, lat: float = HUSBY[0], lon: float = HUSBY[1],
                found_at: str = "2025-05-14 21:00", description: str = "Trasig lampa") -> None:
    frame = gpd.GeoDataFrame({
        "id": [fid], "found_at": [pd.Timestamp(found_at, tz=LOCAL_TZ)], "category": [category],
        "severity": [2], "description": [description], "owner": [owner], "status": [status],
        "created_by": ["test"], "created_at": [pd.Timestamp(found_at, tz=LOCAL_TZ)],
    }, geometry=[point(lat, lon)], crs=STORE_EPSG)
    store.write({"findings": join_layer(store, FINDINGS, frame)})


# --- Store.update with expect and rows ---------------------------------------------------


def test_update_with_rows_writes_both_or_neither(store):
    add_finding(store, "t:1")
    history = pd.DataFrame([{"id": "h1", "finding_id": "t:1", "changed_by": "anna",
                             "changed_at": pd.Timestamp.now(tz=LOCAL_TZ),
                             "from_status": "ny", "to_status": "tilldelad"}])
    assert store.update("findings", "t:1", {"status": "tilldelad"}, expect={"status": "ny"},
                        rows={"finding_history": history})
    assert store.read("findings")["status"].tolist() == ["tilldelad"]
    assert store.count("finding_history") == 1
    # the expected status is gone: nothing changes, no history row
    assert not store.update("findings", "t:1", {"status": "avvisad"}, expect={"status": "ny"},
                            rows={"finding_history": history.assign(id="h2")})
    assert store.read("findings")["status"].tolist() == ["tilldelad"]
    assert store.count("finding_history") == 1


def test_update_rolls_back_when_the_rows_fail(store):
    add_finding(store, "t:1")
    broken = pd.DataFrame([{"id": "h1", "finding_id": "t:1", "changed_at": "not a time",
                            "changed_by": "x", "to_status": "tilldelad"}])
    with pytest.raises(Exception):  # noqa: B017 - any error must roll back
        store.update("findings", "t:1", {"status": "tilldelad"}, rows={"finding_history": broken})
    assert store.read("findings")["status"].tolist() == ["ny"]
    assert store.count("finding_history") == 0


def test_update_expect_none_matches_null(store):
    add_finding(store, "t:1", owner=None)
    assert store.update("findings", "t:1", {"owner": "polisen"}, expect={"owner": None})
    assert not store.update("findings", "t:1", {"owner": "ovrig"}, expect={"owner": None})


# --- the status workflow ----------------------------------------------------------------


def test_workflow_records_each_change_with_who_when_and_comment(store):
    add_finding(store, "t:1", found_at="2025-05-01 21:00")
    t1 = pd.Timestamp("2025-05-03 10:00", tz=LOCAL_TZ)
    t2 = pd.Timestamp("2025-05-11 10:00", tz=LOCAL_TZ)
    core.change_status(store, "t:1", "tilldelad", user="anna", owner="trafikkontoret",
                       comment="Lampan byts", now=t1)
    core.change_status(store, "t:1", "atgardad", user="bo", comment="Klar", now=t2)
    finding = core.get_finding(store, "t:1")
    assert finding["status"] == "atgardad" and finding["owner"] == "trafikkontoret"
    assert finding["fixed_at"] == t2
    assert core.days_to_fix(store.read("findings")).tolist() == [9.5]
    history = core.histories(store, ["t:1"])["t:1"]
    assert history[["changed_by", "from_status", "to_status", "owner", "comment"]].values.tolist() \
        == [["anna", "ny", "tilldelad", "trafikkontoret", "Lampan byts"],
            ["bo", "tilldelad", "atgardad", "trafikkontoret", "Klar"]]
    assert history["changed_at"].tolist() == [t1, t2]
    # reopening clears the fix time
    core.change_status(store, "t:1", "tilldelad", user="anna", comment="Trasig igen")
    assert pd.isna(core.get_finding(store, "t:1")["fixed_at"])


@pytest.mark.parametrize(("start", "to", "kwargs", "message"), [
    ("ny", "atgardad", {}, "kan inte ändras från ny till åtgärdad"),
    ("ny", "tilldelad", {}, "Välj vem som ansvarar"),
    ("ny", "avvisad", {}, "kommentar"),
    ("ny", "ny", {}, "redan status ny"),
    ("ny", "okand", {}, "Okänd status"),
    ("ny", "tilldelad", {"owner": "kungen"}, "Okänd ansvarig"),
    ("tilldelad", "tilldelad", {}, "redan status tilldelad"),
    ("ny", "tilldelad", {"owner": "polisen", "seen_status": "tilldelad"}, "ändrats under tiden"),
])
def test_refused_changes_change_nothing(store, start, to, kwargs, message):
    add_finding(store, "t:1", status=start, owner="polisen" if start == "tilldelad" else None)
    with pytest.raises(core.StatusChangeRefused, match=message):
        core.change_status(store, "t:1", to, user="anna", **kwargs)
    assert core.get_finding(store, "t:1")["status"] == start
    assert store.count("finding_history") == 0


def test_reassigning_an_assigned_finding_is_a_history_entry(store):
    add_finding(store, "t:1", status="tilldelad", owner="polisen")
    entry = core.change_status(store, "t:1", "tilldelad", user="anna", owner="trafikkontoret")
    assert (entry["from_status"], entry["to_status"], entry["owner"]) == \
        ("tilldelad", "tilldelad", "trafikkontoret")
    assert core.get_finding(store, "t:1")["owner"] == "trafikkontoret"


def test_concurrent_change_is_refused(store, monkeypatch):
    """Two handläggare change the same finding: the second sees it changed."""
    add_finding(store, "t:1")
    original = core.get_finding

    def stale(store_, fid):
        row = original(store_, fid)
        # someone else assigns it after we read it
        store_.update("findings", fid, {"status": "tilldelad", "owner": "polisen"})
        return row

    monkeypatch.setattr(core, "get_finding", stale)
    with pytest.raises(core.StatusChangeRefused, match="samtidigt"):
        core.change_status(store, "t:1", "avvisad", user="bo", comment="Fel plats")
    assert store.count("finding_history") == 0


# --- duplicates ------------------------------------------------------------------------------


def test_likely_duplicates_same_category_within_10_m_of_an_open_finding(store):
    add_finding(store, "t:open", category="belysning")
    add_finding(store, "t:fixed", category="klotter", status="atgardad")
    north = 8 / 111_320  # degrees of latitude in 8 m
    new = gpd.GeoDataFrame({
        "id": ["n1", "n2", "n3", "n4", "t:open"],
        "category": ["belysning", "belysning", "klotter", "vegetation", "belysning"],
    }, geometry=[point(HUSBY[0] + north, HUSBY[1]), point(HUSBY[0] + 2 * north, HUSBY[1]),
                 point(*HUSBY), point(*HUSBY), point(*HUSBY)], crs=STORE_EPSG)
    found = core.likely_duplicates(store, new)
    assert list(found) == [0]  # 16 m away, a fixed finding, another category, itself: no
    assert found[0].existing_id == "t:open"
    assert found[0].distance_m == pytest.approx(8, abs=0.2)


# --- exports ------------------------------------------------------------------------------------


def test_spreadsheet_safe_prefixes_formulas_only_in_text():
    frame = pd.DataFrame({"a": ["=1+1", "+46", "-x", "@SUM(A1)", "\tx", "ok", None],
                          "n": [-1, 2, 3, 4, 5, 6, 7]})
    safe = core.spreadsheet_safe(frame)
    assert safe["a"].tolist()[:6] == ["'=1+1", "'+46", "'-x", "'@SUM(A1)", "'\tx", "ok"]
    assert pd.isna(safe["a"].iloc[6])
    assert safe["n"].tolist() == frame["n"].tolist()


def test_owner_csv_keeps_payloads_as_text(store):
    payload = '=HYPERLINK("http://evil","x") <script>alert(1)</script>'
    add_finding(store, "t:1", description=payload)
    data = core.owner_list_csv(store.read("findings"))
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0]["beskrivning"] == "'" + payload
    assert rows[0]["kategori"] == "belysning" and rows[0]["status"] == "ny"
    assert rows[0]["breddgrad"].startswith("59,40")


def test_template_is_read_by_the_importer(store, tmp_path):
    path = tmp_path / "mall.csv"
    # as downloaded, the example row refuses the file; filled in, the same columns are read
    path.write_bytes(core.template_csv())
    with pytest.raises(core.FileRejected, match="exempelrad"):
        core.prepare_upload(store, path, display_name="mall.csv", user="anna")
    filled = core.template_csv().decode("utf-8-sig").replace("EXEMPEL (ta bort raden)",
                                                             "Trasig lampa i gångtunneln")
    path.write_text(filled, encoding="utf-8")
    upload = core.prepare_upload(store, path, display_name="mall.csv", user="anna")
    assert upload.prepared.errors == []
    row = upload.frame.iloc[0]
    assert (row["category"], row["severity"], row["owner"]) == ("belysning", 3, "trafikkontoret")
    assert row["sdo_code"] == "jarva"


def test_walk_ids_are_stable():
    a = core.new_walk(pd.Timestamp("2025-05-14").date(), " Husby  centrum ", organisers="SDF")
    b = core.new_walk(pd.Timestamp("2025-05-14").date(), "husby centrum", organisers="sdf")
    assert a["id"].iloc[0] == b["id"].iloc[0]
    with pytest.raises(core.FileRejected, match="deltagare"):
        core.new_walk(pd.Timestamp("2025-05-14").date(), "Husby", participants=-1)


def test_filter_ignores_unknown_values():
    args = {"status": ["ny", "hackad"], "owner": ["polisen", ""], "category": ["x"]}
    flt = core.FindingFilter.from_values(lambda k: args.get(k, []))
    assert flt.status == ("ny",) and flt.owner == ("polisen",) and flt.category == ()
    assert flt.query() == Query(where={"status": ("ny",), "owner": ("polisen",)})


# --- photos ------------------------------------------------------------------------------------


def jpeg_with_gps(lat: float = 59.4091, lon: float = 17.9281, size=(800, 600)) -> bytes:
    """A JPEG with camera make, a comment-like tag and a GPS position in its EXIF."""
    image = Image.new("RGB", size, (200, 60, 40))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "Telefon AB"
    exif[ExifTags.Base.Artist] = "Anna Andersson"
    exif[ExifTags.Base.Orientation] = 6  # rotated: the stored photo must be upright
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)

    def dms(value: float) -> tuple[float, float, float]:
        d = int(value)
        m = int((value - d) * 60)
        return (float(d), float(m), round(((value - d) * 60 - m) * 60, 4))

    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", dms(lon)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def assert_no_metadata(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    assert "exif" not in image.info
    assert len(image.getexif()) == 0
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif\x00\x00" not in data and b"Telefon" not in data and b"Anna" not in data
    assert b"http://ns.adobe.com/xap" not in data and "icc_profile" not in image.info


def test_clean_photo_reads_gps_and_strips_every_tag(tmp_path):
    original = jpeg_with_gps()
    assert read_gps(original) == pytest.approx((59.4091, 17.9281), abs=1e-4)
    cleaned = clean_photo(original)
    assert cleaned.gps == pytest.approx((59.4091, 17.9281), abs=1e-4)
    assert (cleaned.width, cleaned.height) == (600, 800)  # turned upright
    name = store_photo(tmp_path, cleaned)
    assert is_photo_name(name)
    assert_no_metadata((tmp_path / name).read_bytes())


def test_png_with_transparency_becomes_a_jpeg():
    image = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    cleaned = clean_photo(out.getvalue())
    assert Image.open(io.BytesIO(cleaned.jpeg)).format == "JPEG"
    assert cleaned.gps is None


@pytest.mark.parametrize("data", [b"", b"not an image", b"GIF89a" + b"\0" * 40])
def test_bad_photos_are_refused(data):
    with pytest.raises(PhotoRejected):
        clean_photo(data)


def test_a_photo_claiming_too_many_pixels_is_refused():
    out = io.BytesIO()
    Image.new("1", (9000, 9000)).save(out, "PNG")  # 81 megapixels, a few kB
    with pytest.raises(PhotoRejected, match="bildpunkter"):
        clean_photo(out.getvalue())


def test_photo_names_are_safe():
    assert not is_photo_name("../../etc/passwd")
    assert not is_photo_name("0" * 32 + ".png")
    assert is_photo_name("0123456789abcdef" * 2 + ".jpg")


def test_a_store_from_before_the_history_table_gets_it(store):
    store.conn.execute('DROP TABLE "finding_history"')
    store.conn.execute("DELETE FROM gpkg_contents WHERE table_name = 'finding_history'")
    assert not store.is_initialized()
    store.initialize()
    assert store.is_initialized() and store.count("finding_history") == 0
