"""The police event types mapped to incident categories."""

from __future__ import annotations

from layers.core.schema import INCIDENT_CATEGORIES

#: Every event type in the police feed for Stockholm 2022-09..2026-08, and a few more
#: from the national feed, mapped to an incident category code
#: (:data:`layers.core.schema.INCIDENT_CATEGORIES`).
POLICE_TYPE_TO_CATEGORY: dict[str, str] = {
    # violence and threats
    "Rån": "ran",
    "Rån, försök": "ran",
    "Rån väpnat": "ran",
    "Rån, väpnat": "ran",
    "Rån övrigt": "ran",
    "Misshandel": "misshandel",
    "Misshandel, grov": "misshandel",
    "Olaga hot": "hot",
    "Bombhot": "hot",
    "Ofredande/förargelse": "ofredande",
    "Våldtäkt": "sexualbrott",
    "Våldtäkt, försök": "sexualbrott",
    "Sexualbrott": "sexualbrott",
    "Sedlighetsbrott": "sexualbrott",
    "Skottlossning": "skottlossning",
    "Skottlossning, misstänkt": "skottlossning",
    "Explosion": "skottlossning",
    "Detonation": "skottlossning",
    "Sprängning": "skottlossning",
    "Mord/dråp": "dodligt_vald",
    "Mord/dråp, försök": "dodligt_vald",
    "Våld/hot mot tjänsteman": "vald_hot_tjansteman",
    # property
    "Skadegörelse": "skadegorelse",
    "Stöld": "stold",
    "Stöld, försök": "stold",
    "Häleri": "stold",
    "Stöld/inbrott": "inbrott",
    "Inbrott": "inbrott",
    "Inbrott, försök": "inbrott",
    "Larm Inbrott": "inbrott",
    "Motorfordon, stöld": "tillgrepp_motorfordon",
    # drugs
    "Narkotikabrott": "narkotikabrott",
    # fires and accidents
    "Brand": "brand",
    "Mordbrand": "brand",
    "Brand automatlarm": "brand",
    "Trafikolycka": "trafikolycka",
    "Trafikolycka, personskada": "trafikolycka",
    "Trafikolycka, smitning från": "trafikolycka",
    "Trafikolycka, singel": "trafikolycka",
    "Trafikolycka, vilt": "trafikolycka",
    "Trafikolycka, annan": "trafikolycka",
    # everything else the police report
    "Alkohollagen": "ovrigt",
    "Anträffad död": "ovrigt",
    "Anträffat gods": "ovrigt",
    "Arbetsplatsolycka": "ovrigt",
    "Bedrägeri": "ovrigt",
    "Bråk": "ovrigt",
    "Djur": "ovrigt",
    "Efterlyst person": "ovrigt",
    "Ekobrott": "ovrigt",
    "Farligt föremål, misstänkt": "ovrigt",
    "Fylleri/LOB": "ovrigt",
    "Försvunnen person": "ovrigt",
    "Hemfridsbrott": "ovrigt",
    "Information": "ovrigt",
    "Knivlagen": "ovrigt",
    "Kontroll": "ovrigt",
    "Kontroll person/fordon": "ovrigt",
    "Larm Överfall": "ovrigt",
    "Luftfartslagen": "ovrigt",
    "Miljöbrott": "ovrigt",
    "Missbruk av urkund": "ovrigt",
    "Motorfordon, anträffat stulet": "ovrigt",
    "Olaga frihetsberövande/människorov": "ovrigt",
    "Olaga intrång": "ovrigt",
    "Olovlig körning": "ovrigt",
    "Ordningslagen": "ovrigt",
    "Polisinsats/kommendering": "ovrigt",
    "Rattfylleri": "ovrigt",
    "Räddningsinsats": "ovrigt",
    "Sjukdom/olycksfall": "ovrigt",
    "Sjölagen": "ovrigt",
    "Skyddslagen": "ovrigt",
    "Smällar": "ovrigt",
    "Trafikbrott": "ovrigt",
    "Trafikhinder": "ovrigt",
    "Trafikkontroll": "ovrigt",
    "Utlänningslagen": "ovrigt",
    "Vapenlagen": "ovrigt",
    "Vållande till kroppsskada": "ovrigt",
    "Åldringsbrott": "ovrigt",
    "Övrigt": "ovrigt",
    "Sammanfattning natt": "ovrigt",
    "Sammanfattning kväll och natt": "ovrigt",
    "Sammanfattning dag": "ovrigt",
    "Sammanfattning helg": "ovrigt",
    "Sammanfattning vecka": "ovrigt",
}

#: Type prefixes for variants the table does not list yet (checked in this order).
POLICE_TYPE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("Trafikolycka", "trafikolycka"),
    ("Sammanfattning", "ovrigt"),
)


def police_category(event_type: str) -> str | None:
    """Return the incident category code of a police event type, or None if unknown."""
    name = " ".join(event_type.split())
    code = POLICE_TYPE_TO_CATEGORY.get(name)
    if code is not None:
        return code
    for prefix, prefix_code in POLICE_TYPE_PREFIXES:
        if name.startswith(prefix):
            return prefix_code
    return None


def _check_mapping() -> None:
    codes = {c.code for c in INCIDENT_CATEGORIES}
    wrong = {t: c for t, c in POLICE_TYPE_TO_CATEGORY.items() if c not in codes}
    wrong.update({p: c for p, c in POLICE_TYPE_PREFIXES if c not in codes})
    if wrong:
        raise ValueError(f"police types mapped to unknown categories: {wrong}")


_check_mapping()
