"""The tests' cache lives in a Redis database of its own, so clearing it never touches the broker's."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import need_service
from tests.settings import cache_url_for_tests, redis_database


def test_the_tests_cache_takes_the_next_redis_database_or_the_url_given_for_it():
    assert cache_url_for_tests("redis://127.0.0.1:6379/8") == "redis://127.0.0.1:6379/9"
    assert cache_url_for_tests("redis://127.0.0.1:6379") == "redis://127.0.0.1:6379/1"
    assert cache_url_for_tests("redis://:pw@cache:6380/0?db=3&ssl_cert_reqs=none") == (
        "redis://:pw@cache:6380/4?ssl_cert_reqs=none"
    )
    assert cache_url_for_tests("redis://h/2", "redis://other/2") == "redis://other/2"
    with pytest.raises(ImproperlyConfigured, match="broker's Redis database"):
        cache_url_for_tests("redis://h:6379/2", "redis://h:6379/2")


@pytest.fixture
def broker():
    """A client on the Redis database the Celery broker uses (REDIS_URL)."""
    import redis

    need_service(bool(settings.REDIS_URL), "Redis (set REDIS_URL)")
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        need_service(False, f"Redis at {settings.REDIS_URL}")
    yield client
    client.close()


def test_the_tests_cache_is_not_the_brokers_redis_database(broker):
    cache_location = settings.CACHES["default"]["LOCATION"]
    assert redis_database(cache_location) != redis_database(settings.CELERY_BROKER_URL)
    assert broker.connection_pool.connection_kwargs["db"] == redis_database(settings.CELERY_BROKER_URL)


def test_clearing_the_cache_in_a_test_leaves_a_key_in_the_brokers_database(broker):
    canary = "creditdesk-tests:broker-canary"
    broker.set(canary, "still here", ex=60)
    cache.set("throttle-of-some-test", 1)
    try:
        cache.clear()
        assert cache.get("throttle-of-some-test") is None
        assert broker.get(canary) == b"still here"
    finally:
        broker.delete(canary)
