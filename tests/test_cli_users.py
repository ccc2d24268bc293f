"""``trygghetskartan users add``: ``--sdo`` is resolved against the store's areas."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from layers.users import get_user
from mapapp.cli import cli


def add(data_dir: Path, *args: str):
    result = CliRunner().invoke(cli, ["users", "add", *args, "--data-dir", str(data_dir)],
                                env={"TRYGGHETSKARTAN_PASSWORD": "hemligt-lösen"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_sdo_name_is_stored_as_its_code(data_dir, store):
    for name, sdo in (("hanna", "Järva"), ("hugo", "JARVA"), ("hilda", "jarva")):
        result = add(data_dir, name, "--role", "handläggare", "--sdo", sdo)
        assert result.exit_code == 0, result.output
        assert get_user(store, name).sdo_code == "jarva"


def test_unknown_sdo_is_refused(data_dir, store):
    result = add(data_dir, "atle", "--role", "handläggare", "--sdo", "Atlantis")
    assert result.exit_code == 1, result.output
    assert "Okänt stadsdelsområde 'Atlantis'" in result.output
    assert "Järva" in result.output and "Södermalm" in result.output
    assert get_user(store, "atle") is None
