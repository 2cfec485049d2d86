import pytest
from django.core.cache import caches

from patients import keys


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    # Unwrapped practice keys and rate-limit counters are per process.
    keys.forget()
    caches[settings.RATELIMIT_CACHE].clear()
    caches["default"].clear()  # rendered feeds (calendarfeed.ical.feed_body)
    yield
    keys.forget()
