"""The ``users`` group: accounts, roles, passwords, sessions and API tokens."""

from __future__ import annotations

import sys

import click

from layers.store import Store
from mapapp.cli.common import create_app, with_store


@click.group()
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
