"""The ``trygghetskartan`` command: the same features as the web app, for scripts.

Every verb finds the store the same way (``--data-dir``, else
``TRYGGHETSKARTAN_DATABASE``, else ``TRYGGHETSKARTAN_DATA_DIR``, else the Flask
instance folder). Exit codes: 0 done, 1 input rejected (with a report), 2 usage.

The main group :data:`cli` is defined here; each verb group lives in its own module
and is added below: :mod:`.data` (init, demo, import, export), :mod:`.serve` (serve,
notify), :mod:`.maintenance` (migrate, backup, restore), :mod:`.users`,
:mod:`.brief`, :mod:`.weekly` (lagesbild) and :mod:`.priority` (priority, backtest).
They share :mod:`.common` and never import this module. :func:`register` puts the
group on a Flask app (``flask --app mapapp trygghetskartan …``); the console script
calls :func:`main`.
"""

from __future__ import annotations

import logging

import click
from flask import Flask

from mapapp.cli import brief, data, maintenance, priority, serve, users, weekly


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


for _command in (data.init, data.demo, data.import_, data.export, serve.serve, serve.notify,
                 maintenance.migrate, maintenance.backup_, maintenance.restore_, users.users,
                 brief.brief, weekly.lagesbild, priority.priority, priority.backtest):
    cli.add_command(_command)


def register(app: Flask) -> None:
    """Add the ``trygghetskartan`` group to the app's ``flask`` command."""
    app.cli.add_command(cli, "trygghetskartan")


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="trygghetskartan")
