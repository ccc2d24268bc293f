"""The ``trygghetskartan brief`` verb: the area brief (lägesbild) as HTML, PDF or DOCX.

    trygghetskartan brief --sdn Järva --period 2025-T2 --format pdf -o jarva.pdf
    trygghetskartan brief --all --period 2025-T2 --format pdf -o lagesbilder/

``--sdn`` takes a code (``jarva``) or a name (``Järva``), in any case; ``--all`` makes
one brief for each of the 11 current stadsdelsområden into the folder ``-o``.
Added to the ``cli`` group by :mod:`mapapp.cli`.
"""

from __future__ import annotations

from pathlib import Path

import click

from layers.store import Store
from mapapp.cli.common import create_app, with_store

FORMAT_CHOICES = ("html", "pdf", "docx")


def _format_for(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower().lstrip(".") if output else ""
    return suffix if suffix in FORMAT_CHOICES else "pdf"


@click.command("brief")
@click.option("--sdn", default=None, help="Stadsdelsområde: kod (jarva) eller namn (Järva).")
@click.option("--all", "all_areas", is_flag=True,
              help="En lägesbild för vart och ett av de 11 stadsdelsområdena (-o är en mapp).")
@click.option("--period", default=None,
              help="2024, 2024-T2, 2024-05 eller 2024-01-01..2024-04-30 "
                   "(standard: den senaste hela tertialen med händelser på gatunivå).")
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default=None,
              help="Filformat (standard: efter filändelsen i -o, annars pdf).")
@click.option("-o", "--output", default=None,
              help="Fil att skriva (med --all: en mapp). Standard: lagesbild-KOD-PERIOD.FORMAT.")
@with_store
def brief(store: Store, sdn: str | None, all_areas: bool, period: str | None,
          fmt: str | None, output: str | None) -> None:
    """Skriv lägesbilden för ett stadsdelsområde och en period (HTML, PDF eller DOCX)."""
    from layers.analysis.priority import default_period
    from layers.core.periods import parse_period
    from layers.documents.brief import BriefError, build_brief, load_city_data
    from layers.documents.brief_render import file_name, render

    if bool(sdn) == all_areas:
        raise click.UsageError("Ange antingen --sdn NAMN eller --all.")
    try:
        chosen = parse_period(period) if period else default_period(store)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if chosen is None:
        raise click.UsageError("Databasen har inga händelser på gatunivå: ange --period.")
    fmt = _format_for(fmt, None if all_areas else output)
    data = load_city_data(store, chosen)
    try:
        areas = data.current_areas if all_areas else [data.area(sdn)]
    except BriefError as exc:
        raise click.UsageError(str(exc)) from exc
    folder = Path(output or ".") if all_areas else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)

    # the same time-to-fix targets as the web app: the instance config's PROMISES
    promises = create_app(check_store=False).config["PROMISES"]
    for area in areas:
        made = build_brief(store, area.code, chosen, data=data, promises=promises)
        target = folder / file_name(made, fmt) if folder is not None \
            else Path(output or file_name(made, fmt))
        target.write_bytes(render(made, fmt))
        click.echo(f"Lägesbild {area.name} {chosen.label}: {target}")
