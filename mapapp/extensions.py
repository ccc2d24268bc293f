"""Flask extensions the app factory initialises and blueprints use.

They live here, not in :mod:`mapapp` (the factory), so that a blueprint can take
them without importing the package that registers it.
"""

from __future__ import annotations

from flask_wtf.csrf import CSRFProtect

#: CSRF protection for every form; the bearer-token API routes are exempt.
csrf = CSRFProtect()
