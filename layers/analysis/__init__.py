"""Analysis of the stored layers: grid counts, hot spots, emerging hot spots, the
ranking of priority places and its backtest, default periods, areas, darkness.

``priority/`` and ``backtest/`` are packages (one module per concern). What they and
the emerging hot spots share sits beside them: the study area and its cells
(``study_area``) and the settings (``priority_config``, ``priority_weights.toml``); the
Swedish texts of a priority place are ``place_text``.

May import: ``layers.core``, ``layers.store``, ``layers.io`` and ``layers.indicators``.
"""
