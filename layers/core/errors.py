"""Errors that the core raises, with Swedish messages meant for end users.

The web layer and the CLI show ``str(error)`` as it is, so every message names
the file, the row and the field the user has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field


@dataclass(frozen=True)
class RowError:
    """One problem in one row of an input file.

    ``row`` is the row number the user sees: for CSV the line in the file (the
    header is row 1, as in Excel), for other formats the feature number from 1.
    """

    row: int | None
    field: str | None
    message: str
    #: The file's own header for ``field`` when it differs ("datum" for
    #: ``occurred_at``): shown to people, while ``field`` stays our name (the API's).
    header: str | None = _field(default=None, compare=False)

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"rad {self.row}")
        if self.header:
            where.append(f"fält '{self.header}'")
        elif self.field:
            # our (English) name, as the file or the API has it, with the Swedish one
            label = field_label(self.field)
            where.append(f"fält '{self.field}'" + (f" ({label})" if label != self.field else ""))
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "message": self.message}


def field_label(name: str | None) -> str:
    """The Swedish label of one of our field names ("kategori" for ``category``)."""
    # imported here: the schema module imports this one
    from layers.core.schema import IMPORTABLE, WALKS

    for schema in (*IMPORTABLE.values(), WALKS):
        for f in schema.fields:
            if f.name == name:
                return f.label
    return _PLACE_LABELS.get(name or "", name or "")


#: Swedish names of the place columns, which no schema lists as fields.
_PLACE_LABELS = {"geometry": "plats", "lat": "breddgrad", "lon": "längdgrad",
                 "x": "x-koordinat", "y": "y-koordinat", "wkt": "geometri (wkt)"}


class TrygghetskartanError(Exception):
    """Base class of the errors the core raises on purpose."""


class FileRejected(TrygghetskartanError):
    """The file as a whole cannot be read (format, encoding, CRS, size)."""


class RowsRejected(TrygghetskartanError):
    """Some rows are invalid; nothing was stored."""

    def __init__(self, errors: list[RowError], n_rows: int) -> None:
        self.errors = errors
        self.n_rows = n_rows
        super().__init__(
            f"{len(errors)} fel i {n_rows} rader; inget sparades.\n"
            + "\n".join(str(e) for e in errors[:50])
            + (f"\n… och {len(errors) - 50} fel till." if len(errors) > 50 else "")
        )


class StoreError(TrygghetskartanError):
    """The store cannot be opened or written."""
