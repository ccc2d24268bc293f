"""The ``priority`` and ``backtest`` verbs of the ``trygghetskartan`` command.

``priority`` ranks the places of the city or one stadsdelsområde for a period
(:mod:`layers.analysis.priority`); ``backtest`` measures on any dated point file how well
the ranking predicts the next period, against simple baselines
(:mod:`layers.analysis.backtest`). Both are added to :data:`mapapp.cli.cli` by
:mod:`mapapp.cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from layers.core.periods import FORMATS_HELP, PeriodError
from layers.store import Store
from mapapp.cli.common import with_store


def _emit(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"Skrev {output}", err=True)
    else:
        click.echo(text)


def _config(path: str | None, cell_size: float | None, shape: str | None):
    from dataclasses import replace

    from layers.analysis.priority import load_config

    config = load_config(path)
    if cell_size:
        config = replace(config, cell_size=float(cell_size))
    if shape:
        config = replace(config, shape=shape)
    return config


@click.command()
@click.option("--sdn", default=None,
              help="Stadsdelsområde (kod eller namn, t.ex. Järva); annars hela staden.")
@click.option("--period", default=None,
              help=f"Period: {FORMATS_HELP} (standard: den senaste hela tertialen med "
                   "händelser på gatunivå).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "geojson"]),
              default="table", show_default=True, help="Utdata: tabell, JSON eller GeoJSON.")
@click.option("--limit", type=click.IntRange(1, 1000), default=None,
              help="Högst så många platser (standard ur inställningarna: 20).")
@click.option("--cell-size", type=click.FloatRange(10, 5000), default=None,
              help="Rutstorlek i meter (standard: vald efter datatätheten).")
@click.option("--shape", type=click.Choice(["square", "hex"]), default=None,
              help="Rutor som kvadrater eller sexhörningar.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="TOML-fil med vikter som ersätter standardvikterna.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Skriv till fil i stället för till skärmen.")
@with_store
def priority(store: Store, sdn: str | None, period: str | None, fmt: str, limit: int | None,
             cell_size: float | None, shape: str | None, config_path: str | None,
             output: str | None) -> None:
    """Rangordnade prioriterade platser med skälen till varje plats rang."""
    from layers.analysis.priority import priority_for_store, resolve_sdn

    config = _config(config_path, cell_size, shape)
    try:
        code = resolve_sdn(sdn) if sdn else None
        result = priority_for_store(store, sdn=code, period=period, config=config, limit=limit)
    except PeriodError as exc:
        raise click.UsageError(str(exc)) from exc
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    if fmt == "json":
        _emit(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), output)
    elif fmt == "geojson":
        _emit(json.dumps(result.to_geojson(), ensure_ascii=False), output)
    else:
        table = priority_table(result)
        if not period:
            from layers.analysis.default_period import default_period

            # the same sentence as /priority: which period, and why
            table = default_period(store, "tertial").reason + "\n" + table
        _emit(table, output)


def priority_table(result) -> str:
    """The ranking as a Swedish text table followed by one sentence per place."""
    from layers.analysis.priority import sv_number, trend_text

    lines = [f"Prioriterade platser – {result.area_name}, {result.period.label}",
             f"Rutor om {sv_number(result.cell_size, 0)} m, {result.n_incidents} händelser med "
             f"känd plats, {result.n_significant} signifikanta rutor "
             f"(Gi*, FDR {sv_number(result.alpha * 100, 0)} %).", ""]
    if not result.places:
        lines.append(result.message)
        return "\n".join(lines)
    head = ("Nr", "Plats", "Poäng", "Händelser", "Täthet", "Gi* z", "Sign.", "Öppna fynd",
            "Trend", "Platssamverkan")
    rows = []
    for p in result.places:
        trend = "–" if p.rise is None else trend_text(p.rise)
        rows.append((str(p.rank), p.name, sv_number(p.score, 1), str(p.incidents),
                     "–" if p.density_ratio is None else f"{sv_number(p.density_ratio)}×",
                     sv_number(p.z_max), "ja" if p.significant else "nej",
                     f"{p.open_findings} ({p.severe_findings} allv.)", trend,
                     {"aktiv": "pågår", "planerad": "planerad",
                      "avslutad": "avslutad"}.get(p.site_status or "", "nej")))
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    lines.append("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    lines += [p.text for p in result.places]
    return "\n".join(lines)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--train", default=None,
              help="Träningsperiod, t.ex. 2024 eller 2024-01..2024-12 (standard: de 12 "
                   "månaderna före testperioden).")
@click.option("--test", default=None,
              help="Testperiod, t.ex. 2025-T1 (standard: tertialen med de senaste "
                   "händelserna).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--cell-size", type=click.FloatRange(10, 5000), default=None,
              help="Rutstorlek i meter (standard: vald efter datatätheten).")
@click.option("--shape", type=click.Choice(["square", "hex"]), default=None,
              help="Rutor som kvadrater eller sexhörningar.")
@click.option("--crs", type=int, default=None,
              help="EPSG-kod för x/y i filen om filen inte anger den.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="TOML-fil med vikter som ersätter standardvikterna.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Skriv till fil i stället för till skärmen.")
def backtest(file: str, train: str | None, test: str | None, fmt: str,
             cell_size: float | None, shape: str | None, crs: int | None,
             config_path: str | None, output: str | None) -> None:
    """Träffgrad och PAI för metoden och enkla jämförelser på en fil med daterade punkter.

    Rangordnar rutor på träningsperioden och mäter på testperioden hur stor andel av
    händelserna som hamnar i de 1, 2,5, 5 och 10 % av ytan som pekas ut. Metoder:
    priority (vår poäng), prior_counts (antal i träningsperioden), kde (kärntäthet)
    och random (slump). Avslutas med 1 om filen inte går att använda.
    """
    from layers.analysis.backtest import (
        BacktestError,
        parse_span,
        read_points,
        run_backtest,
        training_before,
    )

    config = _config(config_path, cell_size, shape)
    try:
        points = read_points(file, crs=crs)
        test_p = parse_span(test) if test else _latest_tertial(points.t)
        train_p = parse_span(train) if train else training_before(test_p)
        result = run_backtest(points, train_p, test_p, config=config)
    except PeriodError as exc:
        raise click.UsageError(str(exc)) from exc
    except BacktestError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    if fmt == "json":
        _emit(json.dumps(result.to_dict(), ensure_ascii=False, indent=2), output)
    else:
        _emit(result.to_table(f"Backtest av {Path(file).name}"), output)


def _latest_tertial(t):
    import pandas as pd

    from layers.core.periods import Period

    last = pd.Timestamp(t.max())
    return Period.tertial(last.year, (last.month - 1) // 4 + 1)
