"""The Server-Timing header (issue 18 item 7): the cost of each response, for the
browser's network panel, in development and benches. Wiring: it reads the
database connection and the crypto layer's decryption counter."""

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest

from secretariat.crypto import counting_openings


class _QueryClock:
    """A database execute wrapper: how many queries, how long in the database."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - start
            self.queries += 1


class ServerTimingMiddleware:
    """In development and benches (`SERVER_TIMING`, on with DEBUG): each response
    says what it cost in a `Server-Timing` header, shown by the browser's network
    panel: database time and query count, fields decrypted, total time. Counts
    and durations only, never a query's text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not settings.SERVER_TIMING:
            return self.get_response(request)
        clock = _QueryClock()
        start = time.perf_counter()
        with connection.execute_wrapper(clock), counting_openings() as opened:
            response = self.get_response(request)
        total = (time.perf_counter() - start) * 1000
        response["Server-Timing"] = (
            f'db;dur={clock.seconds * 1000:.1f};desc="{clock.queries} queries", '
            f'decrypt;desc="{opened[0]} fields", total;dur={total:.1f}'
        )
        return response
