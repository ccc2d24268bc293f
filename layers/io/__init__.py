"""Files in and out: readers for every upload format, validation with Swedish row
messages, the importer (one transaction, re-import changes nothing), exporters, the
police events feed, request filters and the OGC API query parsing.

May import: ``layers.core`` and ``layers.store``.
"""
