"""The ``trygghetskartan lagesbild`` verb: the EST cycle's weekly lägesbild.

    trygghetskartan lagesbild --area Järva --week 2025-W48 --out jarva-v48.pdf

``--area`` takes a code (``jarva``) or a name (``Järva``); ``--week`` an ISO week
(default: the last full week, Monday–Sunday, by the clock); ``--out`` a ``.pdf`` or
``.html`` file (default ``veckolagesbild-KOD-VECKA.pdf``). Added to the ``cli``
group by :mod:`mapapp.cli`.
"""

from __future__ import annotations

from pathlib import Path

import click

from layers.store import Store
from mapapp.cli.common import create_app, with_store


@click.command("lagesbild")
@click.option("--area", "--sdn", "area", required=True,
              help="Stadsdelsområde: kod (jarva) eller namn (Järva).")
@click.option("--week", default=None,
              help="ISO-vecka, t.ex. 2025-W48 (standard: den senaste hela veckan).")
@click.option("--out", "-o", "output", default=None,
              help="Fil att skriva, .pdf eller .html (standard: "
                   "veckolagesbild-KOD-VECKA.pdf).")
@with_store
def lagesbild(store: Store, area: str, week: str | None, output: str | None) -> None:
    """Skriv veckolägesbilden (EST) för ett stadsdelsområde som PDF eller HTML."""
    from layers.documents.brief import BriefError
    from layers.documents.brief_render.weekly import render_weekly, weekly_file_name
    from layers.documents.weekly import build_weekly

    fmt = Path(output).suffix.lower().lstrip(".") if output else "pdf"
    if fmt not in ("pdf", "html"):
        raise click.UsageError("--out ska sluta på .pdf eller .html.")
    promises = create_app(check_store=False).config["PROMISES"]
    try:
        report = build_weekly(store, area, week, promises=promises)
    except BriefError as exc:
        raise click.UsageError(str(exc)) from exc
    target = Path(output or weekly_file_name(report, fmt))
    target.write_bytes(render_weekly(report, fmt))
    click.echo(f"Veckolägesbild {report.area.name} {report.code}: {target}")
