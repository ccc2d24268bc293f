"""Analysis of the stored layers: grid counts, hot spots, emerging hot spots, the
ranking of priority places and its backtest, default periods, areas, darkness.

May import: ``layers.core``, ``layers.store``, ``layers.io`` and ``layers.indicators``.
"""
