"""The `Server-Timing` header of console responses: the time the view took on
the server, so that the browser's devtools and the bench read the same figure."""

import time
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse


def server_timing(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        elapsed = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed:.1f}"
        return response

    return wrapper
