"""Trygghetsvandring findings: record on the map, upload a walk, follow each to åtgärdad.

Pages (Swedish UI): ``/findings`` lists with filters, a map, history and exports per
owner; ``/findings/new`` is the phone form (tap the map, photo, walk) and the file
upload, whose preview is ``/findings/upload/<token>``; ``/findings/<id>`` shows one
finding with its photo and history and, for handläggare, the status change.
``POST /api/findings`` takes JSON, GeoJSON or a file with a bearer token.

One blueprint (:data:`bp`, endpoints ``findings.<view>``), its routes by concern:

- :mod:`.pages` — the list, exports, photos, one finding, its status, corrections;
- :mod:`.form` — the phone form for one finding;
- :mod:`.upload` — a file of findings (or a GPX walk from /walks): preview, confirm;
- :mod:`.api` — ``POST /api/findings``;
- :mod:`.blueprint` — the blueprint and what these pages share.

Uploaded files are handled by :mod:`mapapp.uploads`; the domain rules are in
:mod:`layers.domain.findings`; these modules parse requests and render pages.
"""

from mapapp.findings import api, form, pages, upload  # noqa: F401  (add their routes to bp)
from mapapp.findings.blueprint import bp

__all__ = ["bp"]
