"""gunicorn's settings for Linli's web process (``gunicorn -c config/gunicorn.py``).

The Dockerfile and docker-compose.yml start gunicorn with this file. Its logging
goes through ``logconfig_dict``, with the same ID-number mask as Django's LOGGING
(``core.logging.MaskIdNumbers``) on every handler: the access log line holds the
request line and the Referer, and neither may show a whole ID number.

Workers: ``sync``, 2 × cores + 1 unless ``WEB_CONCURRENCY`` says otherwise (without
either, gunicorn would run one worker). Chosen from ``make bench`` on 2 cores (normal
scale, API list of 50, 16 connections, the same run): 5 sync workers 210 req/s, p99 107 ms;
5 gthread workers × 4 threads 141 req/s, p99 301 ms. A request here is CPU-bound Python
(ORM, rendering) with short database and Redis round trips on the same host, so threads
only contend for the GIL; one process per core and one spare to cover the waits does best.
The 120 s timeout
leaves room for a cadre's 100,000-row registry import (about 45 s measured, see
bench/README.md). ``forwarded_allow_ips = "*"``: only the TLS proxy can reach this
port (docs/deployment.md), so its X-Forwarded-Proto is believed from any peer; the
client's address comes from X-Forwarded-For in Django (``core.net.client_ip``,
``LINLI_TRUSTED_PROXY_COUNT``), not from gunicorn.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
forwarded_allow_ips = "*"
# heartbeat files in memory (a container's /dev/shm), not on the image's disk
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
timeout = 120

# The access line also shows the address the proxy forwarded for.
access_log_format = '%(h)s %({x-forwarded-for}i)s %(t)s "%(r)s" %(s)s %(b)s %(D)sus "%(f)s" "%(a)s"'

_MASK = ["mask_id_numbers"]

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_id_numbers": {"()": "core.logging.MaskIdNumbers"}},
    "formatters": {
        "generic": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        },
        "access": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "generic",
            "filters": _MASK,
            "stream": "ext://sys.stderr",
        },
        "access": {
            "class": "logging.StreamHandler",
            "formatter": "access",
            "filters": _MASK,
            "stream": "ext://sys.stdout",
        },
    },
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
    },
}
