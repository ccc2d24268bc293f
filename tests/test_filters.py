"""Map/API filters: parameters in, store queries out, Swedish errors naming the parameter."""

from __future__ import annotations

import pytest

from layers.core.periods import Period
from layers.core.schema import SENSITIVE_CODES, STRATEGIC_CODES
from layers.io.filters import (
    FilterError,
    bbox_to_store,
    parse_categories,
    parse_filter,
    parse_statuses,
)

AREAS = {"jarva": "Järva", "sodermalm": "Södermalm", "rinkeby-kista": "Rinkeby-Kista"}


def test_categories_codes_groups_and_strategic():
    assert parse_categories("") == ("", None)
    assert parse_categories("ran,hot") == ("ran,hot", ("ran", "hot"))
    assert parse_categories("strategiska")[1] == STRATEGIC_CODES
    vald = parse_categories("vald")[1]
    assert "misshandel" in vald and set(SENSITIVE_CODES) <= set(vald)
    # a code and a group that holds it: each code once
    assert parse_categories("ran,strategiska")[1].count("ran") == 1
    assert parse_categories("belysning", "findings") == ("belysning", ("belysning",))


@pytest.mark.parametrize(("layer", "text"), [("incidents", "belysning"),
                                             ("findings", "strategiska"),
                                             ("incidents", "rån")])
def test_unknown_category(layer, text):
    with pytest.raises(FilterError, match="Okänd kategori") as err:
        parse_categories(text, layer)
    assert err.value.parameter == "category"


def test_statuses():
    assert parse_statuses("oppna")[1] == ("ny", "tilldelad")
    assert parse_statuses("åtgärdad")[1] == ("atgardad",)
    assert parse_statuses("aktiv", "sites")[1] == ("aktiv",)
    with pytest.raises(FilterError, match="Okänd status") as err:
        parse_statuses("aktiv")
    assert err.value.parameter == "status"


def test_full_filter_and_query():
    flt = parse_filter({"period": "2024-T2", "category": "strategiska", "sdn": "Järva",
                        "bbox": "17.8,59.35,18.0,59.45", "limit": "50", "offset": "100",
                        "cell": "250"}, areas=AREAS)
    assert flt.sdn == "jarva"
    assert flt.extra == {"cell": "250"}
    query = flt.incident_query(paged=True)
    assert query.where["sdo_code"] == ("jarva", "rinkeby-kista", "spanga-tensta")
    assert query.where["category"] == STRATEGIC_CODES
    assert query.start.isoformat() == "2024-05-01T00:00:00+02:00"
    assert query.end.isoformat() == "2024-09-01T00:00:00+02:00"
    assert (query.limit, query.offset) == (51, 100)
    minx, miny, maxx, maxy = query.bbox
    assert 130_000 < minx < maxx < 160_000 and 6_570_000 < miny < maxy < 6_600_000
    assert flt.params() == {"period": "2024-T2", "category": "strategiska", "sdn": "jarva",
                            "bbox": "17.8,59.35,18,59.45"}


def test_defaults_and_dates():
    assert parse_filter({}).period is None
    default = Period.year(2025)
    assert parse_filter({}, default_period=default).period == default
    assert parse_filter({"from": "2024-05-01", "to": "2024-08-31"}).period.code == "2024-T2"
    open_ended = parse_filter({"from": "2024-05-01"}).period
    assert open_ended.start.isoformat() == "2024-05-01" and open_ended.end.year >= 2024


@pytest.mark.parametrize(("args", "parameter", "words"), [
    ({"period": "2024-T5"}, "period", "Okänd tertial"),
    ({"period": "2024", "from": "2024-01-01"}, "period", "antingen period eller from/to"),
    ({"to": "2024-01-01"}, "from", "to kräver from"),
    ({"from": "1/5/2024"}, "from", "ÅÅÅÅ-MM-DD"),
    ({"from": "2024-05-01", "to": "2024-04-01"}, "to", "slutar"),
    ({"bbox": "18,59"}, "bbox", "fyra tal"),
    ({"bbox": "18,59,a,60"}, "bbox", "inte är ett tal"),
    ({"bbox": "18.1,59.3,17.9,59.4"}, "bbox", "minlon måste vara mindre"),
    ({"bbox": "59.3,18,59.4,200"}, "bbox", "utanför WGS 84"),
    ({"limit": "0"}, "limit", "minst 1"),
    ({"limit": "20000"}, "limit", "högst 10000"),
    ({"offset": "-1"}, "offset", "minst 0"),
    ({"limit": "ten"}, "limit", "heltal"),
    ({"sdn": "Atlantis"}, "sdn", "Okänt stadsdelsområde"),
])
def test_errors_name_the_parameter(args, parameter, words):
    with pytest.raises(FilterError, match=words) as err:
        parse_filter(args, areas=AREAS, stadsdelar={"rinkeby": "Rinkeby"})
    assert err.value.parameter == parameter


def test_bbox_to_store_holds_the_corners():
    minx, miny, maxx, maxy = bbox_to_store((18.0, 59.3, 18.1, 59.35))
    assert 5_000 < maxx - minx < 6_000 and 5_500 < maxy - miny < 5_600
