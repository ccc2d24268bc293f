"""The vocabulary every other part uses: layer schemas, periods, the clock, errors,
roles and the signed-in user as a value, privacy rules (who sees what, small counts),
and the audit record of changes.

May import: nothing in layers/ outside core (and ``geodata`` for the bundled areas).
"""
