"""The verbs that run the app: ``serve`` (waitress) and ``notify`` (the status mails)."""

from __future__ import annotations

import click

from layers.core.errors import StoreError
from layers.store import open_store
from mapapp.serving import SERVE_THREADS


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--threads", default=SERVE_THREADS, type=int, show_default=True,
              help="Antal trådar per process som svarar på anrop (de flesta svaren "
                   "kommer ur cachen på någon millisekund; se bench/README.md).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Antal serverprocesser (standard: en per processorkärna; "
                   "se mapapp/serving.py).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp med GeoPackage-databasen.")
@click.option("--debug", is_flag=True, help="Flasks utvecklingsserver med felsökning "
                                           "(aldrig i drift).")
def serve(host: str, port: int, threads: int, workers: int | None, data_dir: str | None,
          debug: bool) -> None:
    """Starta webbappen (waitress, en WSGI-server för drift)."""
    from layers.store.migrate import check
    from mapapp.cli.common import create_app

    # the store is checked below, once --data-dir has chosen it
    app = create_app(check_store=False)
    if data_dir:
        app.config["DATA_DIR"] = data_dir
    # refuse a store of another schema version before serving anything
    from mapapp.store_ import location_for

    try:
        store = open_store(location_for(app))
        try:
            check(store)
        finally:
            store.close()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Trygghetskartan på http://{host}:{port}/  (avsluta med Ctrl+C)")
    if debug:
        app.run(host=host, port=port, debug=True, use_reloader=False, threaded=True)
        return
    from mapapp import serving

    code = serving.serve(app, host=host, port=port, threads=threads,
                         workers=workers or serving.default_workers(), data_dir=data_dir,
                         echo=click.echo)
    if code:
        raise click.ClickException("Serverprocesserna avslutades direkt efter start; "
                                   "se felen ovan.")


@click.command()
@click.option("--loop", is_flag=True, help="Fortsätt: skicka igen var --interval sekund.")
@click.option("--interval", type=float, default=None,
              help="Sekunder mellan körningarna med --loop (standard NOTIFY_INTERVAL, 60).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="GeoPackage-lagrets mapp (annars som för serve).")
def notify(loop: bool, interval: float | None, data_dir: str | None) -> None:
    """Skicka statusmejlen som väntar i utkorgen (SMTP_* i instansens config)."""
    import time

    from layers.domain.notify import NotifyConfigError
    from mapapp.cli.common import create_app
    from mapapp.notify import run_sender_once, smtp_settings

    # with --data-dir the default store is not the one to check
    app = create_app(check_store=data_dir is None)
    if data_dir:
        app.config["DATA_DIR"] = data_dir
    try:
        settings = smtp_settings(app)
    except NotifyConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if not settings.configured:
        click.echo("SMTP är inte konfigurerad (SMTP_HOST och SMTP_FROM): inget skickas.")
        return
    wait = float(interval if interval is not None else app.config["NOTIFY_INTERVAL"])
    while True:
        click.echo(run_sender_once(app).text())
        if not loop:
            return
        time.sleep(wait)
