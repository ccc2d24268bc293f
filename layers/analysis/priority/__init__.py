"""Priority places: a ranked, explained list of where situational prevention pays.

The city (or one stadsdelsområde) is cut into cells of :class:`layers.analysis.grid.Grid`.
For one period each cell gets

* its incidents, counted with the category weights of ``priority_weights.toml``
  (strategic crimes weigh more; the **weighted count is the backbone** of the score);
* a local Getis-Ord Gi* z-score (:mod:`layers.analysis.hotspots`) with a Benjamini–Hochberg
  correction for the many cells tested: a cell is a *significant hot spot* when its
  z is positive and its q-value is at most ``alpha``;
* the open findings of trygghetsvandringar in it, weighted by severity;
* the trend against the same period one year earlier;
* whether an active platssamverkan site already covers it.

Significant hot cells that touch each other merge into **places**: each climbs to
the neighbouring significant cell with the highest z until it reaches a peak, and
the cells of one peak form one place (a busy centre with several peaks becomes
several places, not one blob). Other cells with incidents stay places of one cell.
A place is named after the platssamverkan site it overlaps, else after the square
or street its findings, walks and incident texts name most often, else after its
stadsdel and a number.

The score of a cell or a place is ``weighted incidents × (1 + bonuses)``
(:func:`combine`): every part is kept, so each place comes with a Swedish sentence
that says why it ranks where it does. The bonuses are small on purpose: the
backtest (:mod:`layers.analysis.backtest`, ``docs/method.md``) ranks cells by the same score
and shows that it keeps the accuracy of prior-period counts, a hard baseline to beat.

Privacy: a place is an aggregate of cells; categories marked sensitive are
weighted into the ranking (a place where many sexual offences happen should rank
high) but never drawn or quoted, and their descriptions are never used for names.
The counts a place shows follow :func:`layers.core.privacy.counted_categories` for
"all categories": ``incidents`` and the sentence count the non-sensitive
categories only, for every role. Handläggare and admin also get the sensitive
count, the weighted count, the score and its parts; every other role gets none
of these (``None``), because each includes the sensitive categories with known
weights, so subtracting the shown categories would give the sensitive count of
the place (see ``docs/privacy.md``).

The package, by concern (each module imports only those above it in this list):

- :mod:`~layers.analysis.priority.score`: the score of cells and places, Gi* and FDR,
  merging hot cells into places;
- :mod:`~layers.analysis.priority.result`: what goes in (:class:`Observations`) and what
  comes out (:class:`Place`, :class:`PriorityResult` and their JSON);
- :mod:`~layers.analysis.priority.names`: the names of places;
- :mod:`~layers.analysis.priority.ranking`: :func:`rank_places`, the ranking itself;
- :mod:`~layers.analysis.priority.from_store`: :func:`priority_for_store`, the ranking
  read from a store and kept per data version.

Beside it: the settings (:mod:`layers.analysis.priority_config`,
``priority_weights.toml``), the study area and its cells
(:mod:`layers.analysis.study_area`) and the Swedish texts of a place
(:mod:`layers.analysis.place_text`), which the backtest and the emerging hot spots
share.
"""

from __future__ import annotations

from layers.analysis.place_text import explain, sv_number, trend_text
from layers.analysis.priority.from_store import (
    CACHE_SECONDS,
    PRIORITY_LAYERS,
    clear_cache,
    data_span,
    default_period,
    observations_from_store,
    priority_for_store,
    warm_cache,
)
from layers.analysis.priority.names import place_names_in
from layers.analysis.priority.ranking import rank_places
from layers.analysis.priority.result import Observations, Place, PriorityResult
from layers.analysis.priority.score import (
    CellAnalysis,
    ScoreParts,
    analyse_cells,
    combine,
    merge_places,
    relative_rise,
)
from layers.analysis.priority_config import CONFIG_FILE, PriorityConfig, load_config
from layers.analysis.study_area import StudyArea, resolve_sdn, store_cell_size, study_area

__all__ = [
    "CACHE_SECONDS",
    "CONFIG_FILE",
    "PRIORITY_LAYERS",
    "CellAnalysis",
    "Observations",
    "Place",
    "PriorityConfig",
    "PriorityResult",
    "ScoreParts",
    "StudyArea",
    "analyse_cells",
    "clear_cache",
    "combine",
    "data_span",
    "default_period",
    "explain",
    "load_config",
    "merge_places",
    "observations_from_store",
    "place_names_in",
    "priority_for_store",
    "rank_places",
    "relative_rise",
    "resolve_sdn",
    "store_cell_size",
    "study_area",
    "sv_number",
    "trend_text",
    "warm_cache",
]
