"""Production, plus the bench's "same work, bare" floor (``bench/bareview.py``).

Only ``bench/run.py`` uses this module: it serves ``/bench/bare/dwellings`` through
``bench.bareview.BareMiddleware``, right after ``core.health.ProbeMiddleware``, so
the floor passes through the same middleware as the ceiling (/healthz). Everything
else is production unchanged. ``LINLI_BENCH_BARE_KEY_PREFIX``: the prefix of the API
key whose jurisdiction the floor's query is filtered by.
"""

from .production import *  # noqa: F403
from .production import MIDDLEWARE, env

_probe = MIDDLEWARE.index("core.health.ProbeMiddleware")
MIDDLEWARE = [
    *MIDDLEWARE[: _probe + 1],
    "bench.bareview.BareMiddleware",
    *MIDDLEWARE[_probe + 1 :],
]
LINLI_BENCH_BARE_KEY_PREFIX = env.str("LINLI_BENCH_BARE_KEY_PREFIX", default="")
