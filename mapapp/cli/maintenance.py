"""The store's upkeep: ``migrate`` (schema upgrade), ``backup`` and ``restore``.

Each opens the store as it is (no initialisation, no version check) and exits 1
with a Swedish message when it cannot do its work; the store is then unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from layers.core.errors import StoreError
from mapapp.cli.common import data_base, open_cli_store


@click.command()
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
            folder = None if no_backup else Path(backup_dir or data_base(data_dir) / "backups")
            run_migration(store, folder)
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}\nLagret är oförändrat.", err=True)
        sys.exit(1)
    if folder is not None:
        click.echo(f"Säkerhetskopia gjord i {folder}.")
    click.echo(f"Klart: lagret har nu schemaversion {todo.target}.")


@click.command("backup")
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
            made = backup(store, Path(directory), photos=data_base(data_dir) / "photos")
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Säkerhetskopia skriven till {made}")


@click.command("restore")
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
            done = restore(store, Path(backup_dir), photos=data_base(data_dir) / "photos",
                           force=force)
        finally:
            store.close()
    except StoreError as exc:
        click.echo(f"Fel: {exc}", err=True)
        sys.exit(1)
    total = sum(done.counts.values())
    click.echo(f"Återställt från {backup_dir}: {total} rader i {len(done.counts)} tabeller, "
               f"schemaversion {done.manifest['schema_version']}.")
