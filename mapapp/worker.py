"""One worker process of ``trygghetskartan serve --workers N``: ``python -m mapapp.worker``.

:mod:`mapapp.serving` starts these and documents them. The entry point is a module of
its own because ``python -m mapapp.serving`` would run that module a second time as
``__main__``: the package imports it already (through the command line's ``serve``).
"""

from __future__ import annotations

import sys

from mapapp.serving import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
