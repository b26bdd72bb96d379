"""Settings for the test run: the app as configured, with the cache on a Redis database of its own.

Tests clear the cache (the API's throttle counters live there). On the database REDIS_URL names, that
would also wipe the Celery broker's queues and results, and whatever else shares it. So the tests'
cache uses CREDITDESK_TEST_REDIS_URL, or else the next database number on the same server
(redis://host:6379/8 -> redis://host:6379/9). The broker stays on REDIS_URL: a test that starts a worker
talks to it there.
"""

import os
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from redis.connection import parse_url

from creditdesk.settings import *  # noqa: F403
from creditdesk.settings import CACHES, DATABASES, REDIS_URL


def redis_database(url: str) -> int:
    """The database number a redis:// URL selects (0 when it names none)."""
    return int(parse_url(url).get("db") or 0)


def next_database_url(url: str) -> str:
    """The same Redis server, with the database number after the one `url` selects."""
    parts = urlsplit(url)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query) if key != "db"])
    return urlunsplit(parts._replace(path=f"/{redis_database(url) + 1}", query=query))


def cache_url_for_tests(redis_url: str, test_redis_url: str = "") -> str:
    """The Redis URL the tests' cache uses: never the database the broker (`redis_url`) uses."""
    url = test_redis_url or next_database_url(redis_url)
    same_server = urlsplit(url).netloc == urlsplit(redis_url).netloc
    if same_server and redis_database(url) == redis_database(redis_url):
        raise ImproperlyConfigured(
            f"CREDITDESK_TEST_REDIS_URL ({url}) is the broker's Redis database (REDIS_URL): tests clear "
            "their cache, which would wipe the broker's queues. Give the tests a database of their own."
        )
    return url


if REDIS_URL:
    CACHES = {
        **CACHES,
        "default": {
            **CACHES["default"],
            "LOCATION": cache_url_for_tests(REDIS_URL, os.environ.get("CREDITDESK_TEST_REDIS_URL", "")),
        },
    }

# The read replica's router (creditdesk/db_routers.py) is tested on a second alias, "replica": the
# database DATABASE_REPLICA_URL names when it is set; else, on PostgreSQL, a real second database on the
# same server (the runner creates test_<name>_replica), so a test can prove what is read where; else
# (SQLite) a mirror of the test database (its own connection to the same data). Report reads stay on the
# primary unless a test turns the replica on (settings.REPORT_READS_DATABASE = "replica"); pytest-django
# creates the second database only for a run that includes such a test.
if "replica" not in DATABASES:
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _replica_name = f"{DATABASES['default']['NAME']}_replica"
        DATABASES["replica"] = {
            **DATABASES["default"],
            "NAME": _replica_name,
            "TEST": {"NAME": f"test_{_replica_name}"},
        }
    else:
        DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
REPORT_READS_DATABASE = None
