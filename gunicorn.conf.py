"""gunicorn's settings for CreditDesk (read from the working directory; command-line flags win).

Memory: a web process stays under 300 MB RSS whatever the ledger's size. Pages and the API read a
page at a time, so a process grows only by fragmentation and caches; two guards bound what is left:
- max_requests with jitter recycles each worker after a few thousand requests, the workers at
  different moments so they never restart together;
- after each request, a worker above WEB_MAX_RSS_MB (default 250) finishes that request and is
  replaced (gunicorn starts a fresh one), before it could reach the cap.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Longer than a person's pause between two clicks: with gunicorn's default of 2 s, the server closed idle
# keep-alive connections just as clients sent their next request on them (connection reset by peer:
# 14-19 of ~2,000 requests of the 16-user load test). A gthread worker keeps idle connections in its
# poller, not in a thread, so a long keep-alive costs no worker capacity.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "400"))
WEB_MAX_RSS_MB = int(os.environ.get("WEB_MAX_RSS_MB", "250"))
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def resident_mb() -> float | None:
    """This process's resident set now (Linux /proc; None elsewhere), not the peak getrusage gives."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE / 2**20
    except OSError:
        return None


def post_request(worker, req, environ, resp):
    rss = resident_mb()
    if rss is not None and rss > WEB_MAX_RSS_MB:
        worker.log.warning(
            "worker %s at %.0f MB RSS (limit %s MB): restarting it", worker.pid, rss, WEB_MAX_RSS_MB
        )
        worker.alive = False  # gunicorn lets the worker finish and the arbiter starts a new one
