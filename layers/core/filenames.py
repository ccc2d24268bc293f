"""File names that users send: shown and logged as data, never used as paths.

An upload's name comes from the client (``../../x``, 500 characters, NUL bytes,
any Unicode). The app keeps it only as text (messages, the import log) and stores
the file itself under a name it generates (:func:`stored_name`).
"""

from __future__ import annotations

import re
import secrets
import unicodedata

#: The longest upload name kept as data (messages, the import log).
MAX_NAME_CHARS = 120
#: The longest suffix kept from a user's file name (".geojson" is 8).
MAX_SUFFIX_CHARS = 10
_SUFFIX_RE = re.compile(r"^\.[a-z0-9]{1,9}$")


def display_name(filename: str | None, fallback: str = "fil") -> str:
    """The name a user's upload is shown and logged by: last path part, printable, cut.

    ``"../../x.csv"`` → ``"x.csv"``; control characters (NUL included) are removed;
    a name longer than :data:`MAX_NAME_CHARS` keeps its start and its suffix
    (``"aaaa…aaa.csv"``). An empty result gives ``fallback``.
    """
    text = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if text in ("", ".", ".."):
        return fallback
    if len(text) > MAX_NAME_CHARS:
        suffix = suffix_of(text)
        text = text[:MAX_NAME_CHARS - len(suffix) - 1] + "…" + suffix
    return text


def suffix_of(name: str) -> str:
    """The lower-case suffix of a file name (``".csv"``), or ``""`` when it has none.

    Only a short ASCII suffix counts: anything else is no suffix, so the caller's
    format check refuses it.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    if dot <= 0:
        return ""
    suffix = base[dot:].lower()
    return suffix if _SUFFIX_RE.match(suffix) else ""


def stored_name(suffix: str) -> str:
    """A generated file name for an upload kept on disk: random hex and the suffix."""
    if not _SUFFIX_RE.match(suffix):
        suffix = ""
    return f"{secrets.token_hex(8)}{suffix}"
