"""Fuzz every reader directly: a file is read or refused with a Swedish FileRejected.

Readers (CSV, GeoJSON, GeoPackage, KML, KMZ, GPX, zipped Shapefile) and validation
run for every layer schema and ``--crs`` choice; photos go through
:func:`layers.io.photos.clean_photo`. Any other exception is a bug: on the web it
would be a 500.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.strategies import any_file, photos
from layers.core.errors import FileRejected
from layers.core.schema import FINDINGS, INCIDENTS, SITES
from layers.domain.walks import WALK_FILE
from layers.io.photos import PhotoRejected, clean_photo
from layers.io.readers import RawTable, read_table
from layers.io.validate import validate

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

SCHEMAS = {"incidents": INCIDENTS, "findings": FINDINGS, "sites": SITES, "walks": WALK_FILE}


@given(upload=any_file, layer=st.sampled_from(sorted(SCHEMAS)),
       crs=st.sampled_from([None, 4326, 3006, 3011, 2154, 99999]))
def test_readers_read_or_refuse(upload, layer, crs):
    data, suffix = upload
    schema = SCHEMAS[layer]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            table = read_table(path, schema, crs=crs, display_name=f"fil{suffix}")
            assert isinstance(table, RawTable)
            validated = validate(table, schema, source="fuzz")
        except FileRejected as exc:
            assert str(exc).strip()
            return
    assert len(validated.frame) == len(validated.rows)
    for error in validated.errors:
        assert error.message.strip()


@given(photo=photos)
def test_photos_clean_or_refuse(photo):
    data, _suffix = photo
    try:
        cleaned = clean_photo(data)
    except PhotoRejected as exc:
        assert str(exc).strip()
        return
    assert cleaned.jpeg.startswith(b"\xff\xd8")
