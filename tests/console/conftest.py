import pytest
import redis
from django.conf import settings

from console import ring, webhook
from patients import keys


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    # Unwrapped practice keys are cached per process; each test starts afresh.
    keys.forget()
    yield
    keys.forget()


@pytest.fixture(autouse=True)
def _clean_redis(db):
    """This test database's console keys (ring markers, leases, the phone events'
    streams and lock) start and end empty; the other test processes share the
    Redis. The lines the webhook keeps, and a Redis back-off, are forgotten."""
    assert settings.CONSOLE_POLL_REDIS_URL.startswith("redis://")
    client = redis.Redis.from_url(settings.CONSOLE_POLL_REDIS_URL)
    pattern = ring.key_prefix() + "*"
    webhook.forget_lines()
    for key in client.scan_iter(pattern):
        client.delete(key)
    yield client
    for key in client.scan_iter(pattern):
        client.delete(key)
    webhook.forget_lines()
    ring.forget_failures()
