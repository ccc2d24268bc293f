"""The CSV reader's text shortcuts (issue 13, import speed): the header line found in
a head of the text, and the spreadsheet escapes undone only when the text holds an
apostrophe, give what reading the whole text gives."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from layers.core.schema import INCIDENTS
from layers.io.readers import read_table
from layers.io.validate import validate

ROWS = ["2024-05-01 21:30;rån;18.07;59.33;'=SUM(A1)",
        "2024-05-02 08:15;klotter;18.06;59.34;'plain",
        "2024-05-03 12:00;rån;18.05;59.32;=not escaped"]


def _read(path: Path) -> pd.DataFrame:
    table = read_table(path, INCIDENTS)
    checked = validate(table, INCIDENTS, source="test")
    assert checked.errors == []
    return checked.frame


def test_header_after_more_blank_lines_than_the_first_look(tmp_path: Path):
    # 70 000 blank lines (CR LF) before the header: beyond the reader's first 64 KiB look
    path = tmp_path / "late_header.csv"
    text = "\r\n" * 70_000 + "occurred_at;category;lon;lat;description\r\n" + \
        "\r\n".join(ROWS) + "\r\n"
    path.write_text(text, encoding="utf-8")
    frame = _read(path)
    assert len(frame) == 3
    assert frame["category"].tolist() == ["ran", "klotter", "ran"]


def test_spreadsheet_escapes_undone_only_where_written(tmp_path: Path):
    path = tmp_path / "escaped.csv"
    path.write_text("occurred_at;category;lon;lat;description\n" + "\n".join(ROWS) + "\n",
                    encoding="utf-8")
    assert _read(path)["description"].tolist() == ["=SUM(A1)", "'plain", "=not escaped"]


def test_without_an_apostrophe_texts_stay_as_written(tmp_path: Path):
    path = tmp_path / "plain.csv"
    rows = [r.replace("'", "") for r in ROWS]
    path.write_text("occurred_at;category;lon;lat;description\n" + "\n".join(rows) + "\n",
                    encoding="utf-8")
    assert _read(path)["description"].tolist() == ["=SUM(A1)", "plain", "=not escaped"]
