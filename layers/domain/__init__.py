"""What the users manage and follow: trygghetsvandring findings and walks,
platssamverkan sites and their measures, EST problems and actions, users and their
access, and the notices sent to owners.

May import: ``layers.core``, ``layers.store``, ``layers.io``, ``layers.analysis`` and
``layers.indicators``.
"""
