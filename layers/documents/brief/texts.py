"""The secretary's own texts of a brief (analysis, development, measures): read and saved
per area and period in the store's ``brief_texts`` table.
"""

from __future__ import annotations

import pandas as pd

from layers.core import clock
from layers.core.periods import Period
from layers.documents.brief.model import TEXT_FIELDS, TEXT_MAX_LENGTH
from layers.indicators import as_period
from layers.store.base import Query, Store


def text_id(code: str, period: Period) -> str:
    return f"{code}:{period.code}"


def read_texts(texts: pd.DataFrame, code: str, period: Period) -> dict[str, str]:
    """The saved analysis texts of one area and period (empty strings if none)."""
    rows = texts[texts["id"] == text_id(code, period)] if not texts.empty else texts
    if rows.empty:
        return dict.fromkeys(TEXT_FIELDS, "")
    row = rows.iloc[0]
    return {k: (row[k] if isinstance(row[k], str) else "") for k in TEXT_FIELDS}


def load_texts(store: Store, code: str, period: Period | str) -> dict[str, str]:
    period = as_period(period)
    return read_texts(store.read("brief_texts", Query(where={"id": text_id(code, period)})),
                      code, period)


def save_texts(store: Store, code: str, period: Period | str, values: dict[str, str],
               user: str | None = None) -> None:
    """Save the secretary's texts for one area and period (one row, updated in place)."""
    period = as_period(period)
    clean = {k: (values.get(k) or "").replace("\r\n", "\n")[:TEXT_MAX_LENGTH]
             for k in TEXT_FIELDS}
    row = {**clean, "updated_at": clock.now(), "updated_by": user}
    key = text_id(code, period)
    if not store.update("brief_texts", key, row):
        store.write({"brief_texts": pd.DataFrame([{
            "id": key, "sdo_code": code, "period": period.code, **row}])})


# --- the brief ------------------------------------------------------------------------
