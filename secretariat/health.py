"""Liveness and readiness for the load balancer and the compose health checks.

Answered by the first middleware, before the host check, the HTTPS redirect, the
session and the login: a load balancer probes a node by its address over plain
HTTP, and a probe must cost neither a session row nor an audit event. The answer
names the checks and whether each passed, nothing else: no data, no version, no
error text (the reason of a failure goes to the log, by exception class only).

- `/health/live`: the process answers (restart it if not).
- `/health/ready`: the node can serve (take it out of rotation if not): the
  database answers, every migration is applied, the broker (when one is
  configured) accepts a connection, the keyring parses.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

from secretariat.crypto import keyring

logger = logging.getLogger(__name__)

LIVE_PATHS = frozenset({"/health/live", "/health/live/"})
READY_PATHS = frozenset({"/health/ready", "/health/ready/"})

# Once a process has seen every migration applied it stays so: migrations are
# not unapplied under a running node, and the check reads every migration file.
_migrations_applied = False


def _database() -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")


def _migrations() -> None:
    global _migrations_applied
    if _migrations_applied:
        return
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("unapplied migrations")
    _migrations_applied = True


def _broker() -> None:
    if not settings.CELERY_BROKER_URL:
        return  # tasks run in process: no broker to reach
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=1) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=1)


def _keyring() -> None:
    keyring()


READY_CHECKS: dict[str, Callable[[], None]] = {
    "database": _database,
    "migrations": _migrations,
    "broker": _broker,
    "keyring": _keyring,
}


def readiness() -> dict[str, bool]:
    """Each check's name and whether it passed."""
    results = {}
    for name, check in READY_CHECKS.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            logger.warning("readiness check %s failed: %s", name, type(error).__name__)
            results[name] = False
        else:
            results[name] = True
    return results


def _answer(status: int, checks: dict[str, bool]) -> HttpResponse:
    body = {"status": {200: "ok", 405: "method not allowed"}.get(status, "unavailable")}
    if checks:
        body["checks"] = {name: "ok" if passed else "fail" for name, passed in checks.items()}
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    """First in settings.MIDDLEWARE: see the module's docstring."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = request.path in LIVE_PATHS or request.path in READY_PATHS
        if probe and request.method not in ("GET", "HEAD"):
            return _answer(405, {})
        if request.path in LIVE_PATHS:
            return _answer(200, {})
        if request.path in READY_PATHS:
            checks = readiness()
            return _answer(200 if all(checks.values()) else 503, checks)
        return self.get_response(request)
