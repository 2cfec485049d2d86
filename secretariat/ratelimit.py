"""Fixed-window rate limits on the cache, for callers that are not sessions
(a calendar subscription address, an OAuth client).

The counter lives in the `RATELIMIT_CACHE` cache: `CACHE_URL=redis://…` in
production so that every web process counts together (with the default local
memory cache each process counts on its own, a limit per process).
`cache.add` then `cache.incr` is atomic on Redis and on the local memory cache.
"""

import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """ "120/h", "600/m", "10/s" or "1000/d"."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*([smhd])\s*", text)
        if match is None or int(match[1]) < 1:
            raise ValueError(f"rate {text!r}: expected <count>/<s|m|h|d>, e.g. 120/h")
        return cls(int(match[1]), _UNITS[match[2]])


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    # How many hits this window has seen, this one included.
    count: int
    retry_after: int
    limit: int

    @property
    def first_refusal(self) -> bool:
        """The hit that went over the limit: callers audit that one only, so a
        flood of refused requests does not flood the audit trail."""
        return not self.allowed and self.count == self.limit + 1


def hit(key: str, rate: Rate | str) -> Verdict:
    """Count one hit against `key` in the current window."""
    if isinstance(rate, str):
        rate = Rate.parse(rate)
    cache = caches[settings.RATELIMIT_CACHE]
    now = int(time.time())
    window = now // rate.seconds
    cache_key = f"ratelimit:{key}:{window}"
    if cache.add(cache_key, 1, timeout=rate.seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(cache_key, 1, timeout=rate.seconds + 1)
            count = 1
    retry_after = rate.seconds - now % rate.seconds
    return Verdict(
        allowed=count <= rate.count, count=count, retry_after=retry_after, limit=rate.count
    )
