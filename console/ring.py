"""The console's cheap answer to "nothing new rings for you" (docs/decisions.md,
"The call console: polling, replays, calls", "The poll's fast path").

Two kinds of Redis keys, in CONSOLE_POLL_REDIS_URL (shared by every web process),
under `console:<database name>:`:

- `ring:<user id>`: the agent's ring marker, a random value replaced after
  the commit of every phone event about one of their calls. Random, not a counter:
  a marker lost (evicted, Redis restarted) and set again can never come back to a
  value a console already holds.
- `lease:<HMAC(session key)>`: the user id, for CONSOLE_POLL_LEASE_SECONDS
  at most (and never past the session's end). Written by the full poll; while it
  lives, a poll of that session whose marker has not moved is answered 204 by
  `RingPollMiddleware` without the session, the database or the view. Redis holds
  no session key: the HMAC is keyed by SECRET_KEY.

Anything else (no lease, a marker moved, Redis unavailable, the lease run out)
falls through to the full view, the only one that hands a call over and audits.
"""

import logging
import secrets
import time
from datetime import datetime

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import salted_hmac

from accounts.sessions import SESSION_LAST_SEEN, SESSION_STARTED

logger = logging.getLogger(__name__)

# The console sends the marker it last saw in this header; the full poll answers
# with the current one (empty: no fast path now, send none).
HEADER = "X-Console-Ring"
# What a console holds when the agent has no marker yet.
NONE = "0"
_SALT = "console.ring.lease"
_MARKER_LENGTH = 16
# After a Redis error, this process skips the fast path for a while: a Redis that
# does not answer must not add its timeout to every poll.
_BACK_OFF_SECONDS = 5.0

# One client (its connection pool) per URL and process; the back-off per URL.
_clients: dict[str, redis.Redis] = {}
_down_until: dict[str, float] = {}


def redis_client() -> redis.Redis | None:
    url = settings.CONSOLE_POLL_REDIS_URL
    if not url or time.monotonic() < _down_until.get(url, 0.0):
        return None
    if url not in _clients:
        # Short timeouts: the fast path is an optimisation, the full view the answer.
        _clients[url] = redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)
    return _clients[url]


def redis_failed(error: Exception) -> None:
    _down_until[settings.CONSOLE_POLL_REDIS_URL] = time.monotonic() + _BACK_OFF_SECONDS
    # The error's type only: nothing of a key in the logs.
    logger.warning("console Redis unavailable: %s", type(error).__name__)


def forget_failures() -> None:
    """Redis is tried again at once, back-off or not (tests)."""
    _down_until.clear()


def key_prefix() -> str:
    """Keys are named after the database: user ids and sessions belong to it (two
    installations, or the test processes' databases, sharing a Redis never mix)."""
    return f"console:{connection.settings_dict['NAME']}:"


def _marker_key(user_id: int) -> str:
    return f"{key_prefix()}ring:{user_id}"


def _lease_key(session_key: str) -> str:
    digest = salted_hmac(_SALT, session_key, algorithm="sha256").hexdigest()
    return f"{key_prefix()}lease:{digest}"


def marker_move(user_id: int) -> None:
    """A phone event changed what the agent's poll would answer: their consoles'
    next poll goes through the full view. Called after the commit (a poll that
    reads the new marker must find the call in the database)."""
    client = redis_client()
    if client is None:
        return
    try:
        # Kept as long as a session may live: a console never holds it longer.
        ttl = int(settings.SESSION_ABSOLUTE_LIFETIME.total_seconds())
        client.set(_marker_key(user_id), secrets.token_hex(_MARKER_LENGTH // 2), ex=ttl)
    except redis.RedisError as error:
        # The lease's end catches it: the next full poll is at most a lease away.
        redis_failed(error)


def marker(user_id: int) -> str:
    """The agent's marker, read by the full poll before it queries the database;
    "" when Redis is not there (the console then sends none)."""
    client = redis_client()
    if client is None:
        return ""
    try:
        value = client.get(_marker_key(user_id))
    except redis.RedisError as error:
        redis_failed(error)
        return ""
    return value.decode() if value else NONE


def _session_left(request: HttpRequest) -> float:
    """Seconds before the session policy would end this session (idle or absolute)."""
    session = request.session
    if not session.get(SESSION_STARTED) or not session.get(SESSION_LAST_SEEN):
        return 0.0
    now = timezone.now()
    started = datetime.fromisoformat(session[SESSION_STARTED])
    last_seen = datetime.fromisoformat(session[SESSION_LAST_SEEN])
    ends = min(
        started + settings.SESSION_ABSOLUTE_LIFETIME, last_seen + settings.SESSION_IDLE_TIMEOUT
    )
    return (ends - now).total_seconds()


def lease_grant(request: HttpRequest) -> None:
    """After a full poll answered "nothing new": this session may be answered by
    the fast path for the lease (never past the session's end)."""
    client = redis_client()
    session_key = request.session.session_key
    if client is None or not session_key:
        return
    seconds = int(min(settings.CONSOLE_POLL_LEASE_SECONDS, _session_left(request)))
    if seconds < 1:
        return
    try:
        client.set(_lease_key(session_key), request.user.pk, ex=seconds)
    except redis.RedisError as error:
        redis_failed(error)


def lease_end(session_key: str | None) -> None:
    """The session ends (logout, the policy): its polls go through the full view."""
    client = redis_client()
    if client is None or not session_key:
        return
    try:
        client.delete(_lease_key(session_key))
    except redis.RedisError as error:
        redis_failed(error)


def _still_nothing(session_key: str, held: str) -> bool:
    """True when the session holds a lease and its agent's marker is `held`."""
    client = redis_client()
    if client is None:
        return False
    try:
        user_id = client.get(_lease_key(session_key))
        if user_id is None or not user_id.isdigit():
            return False
        current = client.get(_marker_key(int(user_id)))
    except redis.RedisError as error:
        redis_failed(error)
        return False
    return (current.decode() if current else NONE) == held


class RingPollMiddleware:
    """Before the session: a console's poll, holding a lease and the agent's
    current marker, is answered 204 ("nothing new") here. Everything else goes on
    through the whole pipeline to `console.views.ringing_view`. The 204 is the
    answer the full view would give, and is given only to the session cookie the
    full view granted the lease to: it tells nothing the cookie's holder could not
    already ask."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("console:ringing")
        if request.method == "GET" and request.path == self.path:
            held = request.headers.get(HEADER, "")
            session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
            if (
                0 < len(held) <= _MARKER_LENGTH
                and 0 < len(session_key) <= 64
                and _still_nothing(session_key, held)
            ):
                response = HttpResponse(status=204)
                add_never_cache_headers(response)
                return response
        return self.get_response(request)
