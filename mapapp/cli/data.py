"""The data verbs: ``init``, ``demo``, ``import`` and ``export``.

An import is one transaction: exit 0 when every row was stored, 1 when rows were
refused (with a Swedish report per row) and nothing was stored.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from layers.core.errors import FileRejected, RowsRejected, StoreError
from layers.core.schema import IMPORTABLE, SPATIAL_LAYERS
from layers.store import Store
from mapapp.cli.common import with_store

LOGGER = logging.getLogger(__name__)

#: ``import walks FILE`` (also ``walk``): a GPX file is one walk, a table many.
WALK_LAYERS = ("walk", "walks")


@click.command()
@with_store
def init(store: Store) -> None:
    """Skapa en tom databas och läs in stadsdelarna (kan köras igen)."""
    from layers.io.reference import load_reference

    results = load_reference(store)
    click.echo(f"Databas klar: {store!r}")
    click.echo(f"  {results['stadsdelar'].inserted} stadsdelar, "
               f"{results['stadsdelsomraden'].inserted} stadsdelsområden "
               "(två indelningar: 13 till 2023-06-30, 11 från 2023-07-01)")


@click.command()
@click.option("--seed", type=int, default=None, help="Slumpfrö (standard: det fasta fröet).")
@with_store
def demo(store: Store, seed: int | None) -> None:
    """Skapa databasen och läs in demodata (samma data varje gång)."""
    from layers.io.demo_load import load_demo

    report = load_demo(store, seed=seed)
    click.echo(report)


@click.command("import")
@click.argument("layer", type=click.Choice(sorted([*IMPORTABLE, *WALK_LAYERS])))
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--crs", type=int, default=None,
              help="EPSG-kod för filens koordinater om filen inte anger den "
                   "(4326, 3006 eller 3011).")
@click.option("--source", default=None,
              help="Källans namn (blir prefix i id). 'polisen' läser polisens händelse-JSON.")
@click.option("--skip-invalid", is_flag=True,
              help="Spara de giltiga raderna även om andra rader är fel (standard: allt "
                   "eller inget).")
@click.option("--user", default=None, help="Vem som importerar (för importloggen).")
@click.option("--area", default=None,
              help="walks, GPX: vandringens område (annars spårets namn eller stadsdelen).")
@click.option("--organisers", default="", help="walks, GPX: arrangörer.")
@with_store
def import_(store: Store, layer: str, file: str, crs: int | None, source: str | None,
            skip_invalid: bool, user: str | None, area: str | None, organisers: str) -> None:
    """Läs in en fil (CSV, GeoJSON, GPKG, zippad Shapefile, KML, GPX) i ett lager.

    Avslutas med 0 när allt lästes in, 1 när rader avvisades (med en rapport per rad).
    Inget sparas till hälften: en import är en transaktion.
    """
    from layers.io.importer import import_file

    try:
        if layer in WALK_LAYERS:
            # a GPX file is one walk (track = route, waypoints = findings); a table many
            from layers.domain.walks import import_walk_file

            gpx = {"area": area, "organisers": organisers} if file.lower().endswith(".gpx") \
                else {}
            report = import_walk_file(store, file, user=user, allow_partial=skip_invalid,
                                      **gpx).report
        else:
            report = import_file(store, layer, file, crs=crs, source=source, user=user,
                                 allow_partial=skip_invalid)
    except FileRejected as exc:
        click.echo(f"Fel: {exc}\nInget sparades.", err=True)
        sys.exit(1)
    except RowsRejected as exc:
        click.echo(f"Fel i {Path(file).name}: {exc}", err=True)
        sys.exit(1)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # a file no reader foresaw: still exit 1, in Swedish
        LOGGER.info("import of %s failed", file, exc_info=True)
        click.echo(f"Fel: filen {Path(file).name} kunde inte läsas in ({type(exc).__name__}: "
                   f"{str(exc)[:300]}).\nInget sparades (en import sparas helt eller inte "
                   "alls). Kör med -v för detaljer.", err=True)
        sys.exit(1)
    click.echo(report.summary_sv())
    if report.errors:
        sys.exit(1)


@click.command()
@click.argument("layer", type=click.Choice(sorted({*SPATIAL_LAYERS, "walks"})))
@click.argument("file", type=click.Path(dir_okay=False))
@with_store
def export(store: Store, layer: str, file: str) -> None:
    """Skriv ett lager till GPKG, GeoJSON eller CSV (efter filändelsen).

    walks: en rad per vandring med deltagare per grupp, mörker och rutten som linje.
    """
    from layers.domain.walks import export_walks
    from layers.io.exporters import export_layer

    try:
        n = export_walks(store, Path(file)) if layer == "walks" else \
            export_layer(store, layer, Path(file))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{n} rader skrivna till {file}")
