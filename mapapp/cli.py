"""The ``trygghetskartan`` command: the same features as the web app, for scripts.

Every verb finds the store the same way (``--data-dir``, else
``TRYGGHETSKARTAN_DATABASE``, else ``TRYGGHETSKARTAN_DATA_DIR``, else the Flask
instance folder). Exit codes: 0 done, 1 input rejected (with a report), 2 usage.
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from layers.core.errors import FileRejected, RowsRejected, StoreError
from layers.core.schema import IMPORTABLE, SPATIAL_LAYERS
from layers.store import Store, open_store, store_location
from mapapp.serving import SERVE_THREADS

LOGGER = logging.getLogger(__name__)

#: ``import walks FILE`` (also ``walk``): a GPX file is one walk, a table many.
WALK_LAYERS = ("walk", "walks")


def _default_dir() -> str:
    from mapapp import create_app

    # the store is not checked here: `migrate` must reach an old one
    return create_app(check_store=False).instance_path


def open_cli_store(data_dir: str | None, *, create: bool = True) -> Store:
    """Open the store the way every verb does, initialising it when asked.

    With ``create``, a store whose schema version is not the code's is refused
    (StoreVersionError: run ``migrate``, or newer code).
    """
    location = store_location(data_dir, None if data_dir else _default_dir())
    store = open_store(location)
    if not create:
        return store
    from layers.store.migrate import checked

    if not checked(store).is_initialized():
        from layers.io.reference import load_reference

        store.initialize()
        load_reference(store)
    return store


def with_store(fn=None, *, create: bool = True):
    """Add ``--data-dir`` to a verb and pass it the opened store.

    ``create=False``: open the store as it is (no initialisation, no version check),
    for ``migrate``, ``backup`` and ``restore``.
    """
    if fn is None:
        return functools.partial(with_store, create=create)

    @click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                  help="Mapp med GeoPackage-databasen (annars TRYGGHETSKARTAN_DATABASE, "
                       "TRYGGHETSKARTAN_DATA_DIR eller instansmappen).")
    @functools.wraps(fn)
    def wrapper(*args, data_dir=None, **kwargs):
        try:
            store = open_cli_store(data_dir, create=create)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            return fn(store, *args, **kwargs)
        finally:
            store.close()

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="trygghetskartan")
@click.option("-v", "--verbose", is_flag=True, help="Skriv mer om vad som händer.")
def cli(verbose: bool) -> None:
    """Trygghetskartan: karta och analys för situationell brottsprevention."""
    import getpass

    from layers.core import audit

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    # changes made from the command line are logged in the name of the OS user
    audit.set_actor(f"{getpass.getuser()} (kommandorad)")


@cli.command()
@with_store
def init(store: Store) -> None:
    """Skapa en tom databas och läs in stadsdelarna (kan köras igen)."""
    from layers.io.reference import load_reference

    results = load_reference(store)
    click.echo(f"Databas klar: {store!r}")
    click.echo(f"  {results['stadsdelar'].inserted} stadsdelar, "
               f"{results['stadsdelsomraden'].inserted} stadsdelsområden "
               "(två indelningar: 13 till 2023-06-30, 11 från 2023-07-01)")


@cli.command()
@click.option("--seed", type=int, default=None, help="Slumpfrö (standard: det fasta fröet).")
@with_store
def demo(store: Store, seed: int | None) -> None:
    """Skapa databasen och läs in demodata (samma data varje gång)."""
    from layers.io.demo_load import load_demo

    report = load_demo(store, seed=seed)
    click.echo(report)


@cli.command("import")
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


@cli.command()
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


@cli.command()
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
    from mapapp import create_app

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


@cli.command()
@click.option("--loop", is_flag=True, help="Fortsätt: skicka igen var --interval sekund.")
@click.option("--interval", type=float, default=None,
              help="Sekunder mellan körningarna med --loop (standard NOTIFY_INTERVAL, 60).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="GeoPackage-lagrets mapp (annars som för serve).")
def notify(loop: bool, interval: float | None, data_dir: str | None) -> None:
    """Skicka statusmejlen som väntar i utkorgen (SMTP_* i instansens config)."""
    import time

    from layers.domain.notify import NotifyConfigError
    from mapapp import create_app
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


def _data_base(data_dir: str | None) -> Path:
    """The data folder: the GeoPackage's folder, else (PostGIS) the instance folder."""
    location = store_location(data_dir, None if data_dir else _default_dir())
    if "://" in location:
        return Path(_default_dir())
    path = Path(location)
    return path.parent if path.suffix.lower() == ".gpkg" else path


@cli.command()
@click.option("--dry-run", is_flag=True, help="Visa bara vad som skulle ändras.")
@click.option("--backup-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp för säkerhetskopian som görs först (standard: backups/ i datamappen).")
@click.option("--no-backup", is_flag=True,
              help="Hoppa över säkerhetskopian (bara om du nyss gjort en själv).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp med GeoPackage-databasen.")
def migrate(dry_run: bool, backup_dir: str | None, no_backup: bool,
            data_dir: str | None) -> None:
    """Uppgradera lagrets schema till programmets version (säkerhetskopia först).

    Allt eller inget: PostGIS i en transaktion, GeoPackage på en kopia som byts in
    när alla steg lyckats. Stoppa webbappen först. Avslutas med 0 när lagret är
    aktuellt (eller --dry-run), 1 när det inte går.
    """
    from layers.store.migrate import migrate as run_migration
    from layers.store.migrate import plan

    try:
        store = open_cli_store(data_dir, create=False)
        try:
            todo = plan(store)
            click.echo(todo.describe())
            if todo.current > todo.target:
                sys.exit(1)
            if dry_run or not todo.needed:
                return
            folder = None if no_backup else Path(backup_dir or _data_base(data_dir) / "backups")
            run_migration(store, folder)
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}\nLagret är oförändrat.", err=True)
        sys.exit(1)
    if folder is not None:
        click.echo(f"Säkerhetskopia gjord i {folder}.")
    click.echo(f"Klart: lagret har nu schemaversion {todo.target}.")


@cli.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp med GeoPackage-databasen.")
def backup_(directory: str, data_dir: str | None) -> None:
    """Säkerhetskopiera lagret (och fotona) till en ny mapp i DIRECTORY.

    GeoPackage: SQLites online-backup (appen kan vara igång). PostGIS: pg_dump.
    """
    from layers.store.backup import backup

    try:
        store = open_cli_store(data_dir, create=False)
        try:
            if store.schema_version() == 0:
                raise StoreError("Lagret är tomt: det finns inget att säkerhetskopiera.")
            made = backup(store, Path(directory), photos=_data_base(data_dir) / "photos")
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Säkerhetskopia skriven till {made}")


@cli.command("restore")
@click.argument("backup_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--force", is_flag=True,
              help="GeoPackage: ersätt ett lager som redan har data (allt i det försvinner).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Mapp med GeoPackage-databasen.")
def restore_(backup_dir: str, force: bool, data_dir: str | None) -> None:
    """Återställ en säkerhetskopia (en mapp som `backup` skrev) till ett tomt lager.

    Efteråt kontrolleras att varje tabell har lika många rader som när kopian togs.
    """
    from layers.store.backup import restore

    try:
        store = open_cli_store(data_dir, create=False)
        try:
            done = restore(store, Path(backup_dir), photos=_data_base(data_dir) / "photos",
                           force=force)
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    total = sum(done.counts.values())
    click.echo(f"Återställt från {backup_dir}: {total} rader i {len(done.counts)} tabeller, "
               f"schemaversion {done.manifest['schema_version']}.")


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="trygghetskartan")


@cli.group()
def users() -> None:
    """Hantera användare och API-nycklar."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["läsare", "inventerare",
                                                          "handläggare", "admin"]))
@click.option("--sdo", default=None,
              help="Stadsdelsområde, kod (jarva) eller namn (Järva) (för handläggare).")
@click.option("--display-name", default=None, help="Namn som visas i appen.")
@with_store
def users_add(store: Store, name: str, role: str, sdo: str | None,
              display_name: str | None) -> None:
    """Skapa en användare (lösenord från TRYGGHETSKARTAN_PASSWORD eller en fråga)."""
    from layers.domain.users import UserError, add_user, resolve_sdo

    if sdo is not None:
        try:
            sdo = resolve_sdo(store, sdo)
        except UserError as exc:
            _user_error(exc)
    try:
        add_user(store, name, role, _password_from_env_or_prompt(), sdo_code=sdo,
                 display_name=display_name)
    except UserError as exc:
        _user_error(exc)
    click.echo(f"Användaren {name} skapad med rollen {role}.")


def _password_from_env_or_prompt() -> str:
    import os

    return os.environ.get("TRYGGHETSKARTAN_PASSWORD") or click.prompt(
        "Lösenord", hide_input=True, confirmation_prompt=True)


def _user_error(exc: Exception) -> None:
    """Report a refused user change in Swedish and exit 1."""
    click.echo(f"Fel: {exc}", err=True)
    sys.exit(1)


@users.command("list")
@with_store
def users_list(store: Store) -> None:
    """Lista användarna: namn, roll, stadsdelsområde, status, skapad."""
    from layers.domain.users import list_users

    rows = list_users(store)
    if rows.empty:
        click.echo("Inga användare.")
        return
    click.echo(f"{'namn':<20} {'roll':<12} {'område':<18} {'status':<9} skapad")
    for row in rows.itertuples():
        created = "–" if row.created_at is None or str(row.created_at) == "NaT" \
            else row.created_at.strftime("%Y-%m-%d")
        click.echo(f"{row.id:<20} {row.role:<12} {(row.sdo_code or '–'):<18} "
                   f"{'aktiv' if row.active else 'avstängd':<9} {created}")


@users.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice(["läsare", "inventerare", "handläggare", "admin"]))
@with_store
def users_role(store: Store, name: str, role: str) -> None:
    """Ge en användare en ny roll (gäller från nästa anrop)."""
    from layers.domain.users import UserError, set_role

    try:
        set_role(store, name, role)
    except UserError as exc:
        _user_error(exc)
    click.echo(f"{name} har nu rollen {role}.")


@users.command("password")
@click.argument("name")
@with_store
def users_password(store: Store, name: str) -> None:
    """Byt lösenord (från TRYGGHETSKARTAN_PASSWORD eller en fråga); avslutar användarens
    sessioner."""
    from layers.domain.users import UserError, set_password

    try:
        ended = set_password(store, name, _password_from_env_or_prompt())
    except UserError as exc:
        _user_error(exc)
    click.echo(f"Lösenordet för {name} är bytt; {ended} sessioner avslutades.")


def _set_active_command(verb: str, active: bool, help_text: str, done: str) -> None:
    """Register ``users disable`` / ``users enable`` (one body: they differ in a flag)."""

    @users.command(verb, help=help_text)
    @click.argument("name")
    @with_store
    def command(store: Store, name: str) -> None:
        from layers.domain.users import UserError, set_active

        try:
            ended = set_active(store, name, active)
        except UserError as exc:
            _user_error(exc)
        click.echo(done.format(name=name, ended=ended))


_set_active_command("disable", False,
                    "Stäng av en användare: inloggning och API-nycklar slutar gälla, "
                    "sessioner avslutas.",
                    "Användaren {name} är avstängd; {ended} sessioner avslutades.")
_set_active_command("enable", True, "Aktivera en avstängd användare igen.",
                    "Användaren {name} är aktiv.")


@users.command("end-sessions")
@click.argument("name", required=False)
@click.option("--all", "everyone", is_flag=True, help="Avsluta alla användares sessioner.")
@with_store
def users_end_sessions(store: Store, name: str | None, everyone: bool) -> None:
    """Avsluta en användares sessioner (NAMN) eller allas (--all): de loggas ut direkt."""
    from layers.store.sessions import end_all_sessions, end_user_sessions

    if bool(name) == everyone:
        raise click.UsageError("Ange antingen ett användarnamn eller --all.")
    if everyone:
        click.echo(f"{end_all_sessions(store)} sessioner avslutades.")
    else:
        click.echo(f"{end_user_sessions(store, name)} sessioner för {name} avslutades.")


@users.command("token")
@click.argument("name")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Hur många dagar nyckeln gäller (standard: TOKEN_DAYS, 365).")
@click.option("--name", "label", default=None, help="Ett namn på nyckeln, t.ex. appens.")
@with_store
def users_token(store: Store, name: str, days: int | None, label: str | None) -> None:
    """Skriv ut en ny API-nyckel för användaren (visas bara en gång)."""
    from layers.domain.users import UserError, new_token

    if days is None:
        from mapapp import create_app

        days = int(create_app(check_store=False).config["TOKEN_DAYS"])
    try:
        click.echo(new_token(store, name, days=days, label=label))
    except UserError as exc:
        _user_error(exc)


@users.command("tokens")
@click.argument("name")
@with_store
def users_tokens(store: Store, name: str) -> None:
    """Lista användarens API-nycklar (id, namn, skapad, går ut, senast använd, status)."""
    import pandas as pd

    from layers.domain.users import list_tokens
    from layers.store import sessions

    rows = list_tokens(store, name)
    if rows.empty:
        click.echo(f"{name} har inga API-nycklar.")
        return

    def when(value) -> str:
        return "–" if pd.isna(value) else value.strftime("%Y-%m-%d %H:%M")

    click.echo("id            namn                 skapad            går ut            "
               "senast använd     status")
    for row in rows.itertuples():
        status = "återkallad" if row.revoked else (
            "utgången" if row.expires_at <= sessions.now() else "giltig")
        click.echo(f"{row.token_id:<13} {(row.name or '–')[:20]:<20} {when(row.created_at):<17} "
                   f"{when(row.expires_at):<17} {when(row.last_used_at):<17} {status}")


@users.command("revoke")
@click.argument("token_id")
@with_store
def users_revoke(store: Store, token_id: str) -> None:
    """Återkalla en API-nyckel (id från `users tokens NAMN`, minst 8 tecken)."""
    from layers.domain.users import UserError, revoke_token

    try:
        owner = revoke_token(store, token_id)
    except UserError as exc:
        _user_error(exc)
    click.echo(f"API-nyckeln {token_id} ({owner}) är återkallad.")


from mapapp import cli_brief  # noqa: E402,F401  # isort: skip  (adds brief)
from mapapp import cli_weekly  # noqa: E402,F401  # isort: skip  (adds lagesbild)
import mapapp.cli_priority  # noqa: E402,F401  (registers "priority" and "backtest")
