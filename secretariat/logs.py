"""Logs as one JSON object per line, so that the logs of several nodes can be
joined on the request id (also returned as `X-Request-ID` and written in audit
events) and the user id.

What a line holds is chosen, not dumped: the time, level, logger, message, the
request id and user id of the request being served, and for an exception its
class and the frames (file, line, function) without its message or local values,
which can carry patient data (a database error quotes the row it refused). Log
messages themselves never hold health data: they name ids and counts.
"""

import json
import logging
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest

current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def _request_fields() -> dict:
    request = current_request.get()
    if request is None:
        return {}
    fields = {"request_id": getattr(request, "request_id", None)}
    # The actor is built after authentication (accounts.middleware); before it, or
    # for an anonymous request, there is no user id to give.
    user = getattr(getattr(request, "actor", None), "user", None)
    if user is not None and user.pk is not None:
        fields["user_id"] = user.pk
    return fields


def _exception_fields(exc_info) -> dict:
    error_type, _, tb = exc_info
    frames = [
        f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(tb)
    ]
    return {"exception": error_type.__name__, "frames": frames}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_request_fields(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry.update(_exception_fields(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
