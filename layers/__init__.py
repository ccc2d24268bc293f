"""The product's core without the web: the four layers, their store, analysis and documents.

Subpackages, from the bottom up; a subpackage imports only from the ones below it
(tests/test_architecture.py checks it, docs/architecture.md explains it):

- ``core``: the vocabulary: layer schemas, periods, clock, errors, privacy rules, audit.
- ``store``: the data stores (GeoPackage, PostGIS), migrations, backup, sessions.
- ``io``: reading, validating, importing and exporting files; police events; filters.
- ``analysis``: grid, hot spots, priority places, backtest, emerging hot spots, darkness.
- ``indicators``: the one definition of every figure shown anywhere.
- ``domain``: what users manage: findings, sites, walks, EST problems, users, notices.
- ``documents``: the area brief (lägesbild), the weekly brief and the walk protocol.

No module here imports Flask; ``mapapp`` (the web app and CLI) builds on all of these.
"""
