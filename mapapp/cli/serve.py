"""The verbs that run the app: ``serve`` (waitress) and ``notify`` (the status mails)."""

from __future__ import annotations

import click

from layers.core.errors import StoreError
from layers.store import open_store

#: waitress threads. One Python process runs one thread at a time whatever the cores,
#: and most answers come from the page cache in about a millisecond, so threads are
#: not for CPU: they are for requests that wait. Writes wait for one of two slots
#: (mapapp/write_gate.py) inside a thread, so the threads must outnumber the waiting
#: uploads with room for readers: with 8 threads 10 uploaders left too few for 50
#: readers (122 requests/s, p95 0.9 s), with 16 the same load ran at 235/s, p95
#: 0.37 s (bench/README.md, load.py, 2026-12-06).
SERVE_THREADS = 16
#: Open connections waitress keeps (60 users with a browser's few each fit), and the
#: listen backlog for bursts beyond that.
CONNECTION_LIMIT = 200
BACKLOG = 1024


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, type=int, show_default=True)
@click.option("--threads", default=SERVE_THREADS, type=int, show_default=True,
              help="Antal trådar som svarar på anrop (de flesta svaren kommer ur "
                   "cachen på någon millisekund; se bench/README.md).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp med GeoPackage-databasen.")
@click.option("--debug", is_flag=True, help="Flasks utvecklingsserver med felsökning "
                                           "(aldrig i drift).")
def serve(host: str, port: int, threads: int, data_dir: str | None, debug: bool) -> None:
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
    from waitress import serve as waitress_serve

    from mapapp.notify import start_sender
    from mapapp.page_cache import SERVE_GRACE
    from mapapp.priority import start_cache_warmer

    # findings during a walk arrive every few seconds: rankings and figures may show
    # them up to this late instead of being computed again for every upload
    app.config.setdefault("PAGE_CACHE_GRACE", SERVE_GRACE)
    from mapapp.write_gate import wrap

    wrap(app)
    start_cache_warmer(app)
    if start_sender(app) is not None:
        click.echo("Statusmejl skickas i bakgrunden (SMTP är konfigurerad).")
    waitress_serve(app, host=host, port=port, threads=threads, ident="trygghetskartan",
                   connection_limit=CONNECTION_LIMIT, backlog=BACKLOG)


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
