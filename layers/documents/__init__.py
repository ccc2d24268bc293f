"""Documents for the district board: the area brief (lägesbild) with its renderers
(HTML, PDF, Word), the weekly lägesbild and the trygghetsvandring protocol.

May import: every other part of ``layers``.
"""
