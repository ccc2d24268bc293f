"""What every schema is made of: coordinate systems, time zone, categories, fields, layers."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Everything is stored in metres in SWEREF 99 18 00, Stockholm's local system.
STORE_EPSG = 3011
#: Maps and the JSON API speak WGS 84.
WEB_EPSG = 4326
#: Coordinate systems a file may be in without being reprojected by a declared CRS.
ACCEPTED_EPSG = (4326, 3006, 3011)
#: Europe/Stockholm: naive times in input files are local time.
LOCAL_TZ = "Europe/Stockholm"

#: The day Stockholm went from 13 to 11 stadsdelsområden.
DIVISION_CHANGE = "2023-07-01"


@dataclass(frozen=True)
class Category:
    """One entry in a category taxonomy: a stable ASCII code and its Swedish name."""

    code: str
    label: str
    group: str = ""
    strategic: bool = False
    sensitive: bool = False
    weight: float = 1.0
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    ``kind`` is one of ``str``, ``int``, ``float``, ``bool``, ``datetime`` (time zone
    aware), ``date``. ``aliases`` are the other headers a file may use for it
    (Swedish headers from Excel, other tools' names); matching ignores case.
    ``derived`` fields are computed on import (joins, taxonomy flags) and never read
    from a file.
    """

    name: str
    kind: str
    label: str
    required: bool = False
    #: Allowed values: code -> Swedish label (both are accepted on input).
    choices: dict[str, str] | None = None
    aliases: tuple[str, ...] = ()
    derived: bool = False
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class LayerSchema:
    """A stored layer: its table name, geometry type and fields."""

    name: str
    label: str
    geometry_type: str
    fields: tuple[Field, ...]
    #: Columns a file must have (besides the geometry); others are optional.
    time_field: str | None = None
    categories: tuple[Category, ...] = field(default=())

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def input_fields(self) -> list[Field]:
        return [f for f in self.fields if not f.derived]


JOINED_FIELDS = (
    Field("stadsdel", "str", "stadsdel", derived=True),
    Field("sdo_code", "str", "stadsdelsområde (kod)", derived=True),
    Field("sdo_name", "str", "stadsdelsområde", derived=True),
    Field("site_id", "str", "platssamverkan", derived=True),
)


def category_lookup(categories: tuple[Category, ...]) -> dict[str, str]:
    """Map every code, label and alias (lower case) to the category's code."""
    table: dict[str, str] = {}
    for c in categories:
        for key in (c.code, c.label, *c.aliases):
            table[key.strip().lower()] = c.code
    return table


def by_code(categories: tuple[Category, ...]) -> dict[str, Category]:
    """Index a taxonomy by code."""
    return {c.code: c for c in categories}
