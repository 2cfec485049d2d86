"""Logs as one JSON object per line (secretariat/logs.py)."""

import json
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory

from audit.context import Actor
from secretariat.logs import JsonFormatter
from secretariat.middleware import RequestIdMiddleware
from tests.factories import UserFactory
from tests.test_settings import _load_settings


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def lines():
    handler = _Lines()
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)


def _serve(view, user=None):
    request = RequestFactory().get("/p/cabinet/agenda/")
    if user is not None:
        request.actor = Actor(user=user)
    return RequestIdMiddleware(view)(request)


@pytest.mark.django_db
def test_a_line_during_a_request_carries_its_request_id_and_user_id(lines):
    user = UserFactory()

    def view(request):
        logging.getLogger("tests.logs").info("agenda served: %s rows", 12)
        return HttpResponse()

    response = _serve(view, user=user)
    (line,) = lines
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["message"] == "agenda served: 12 rows"
    assert entry["level"] == "INFO"
    assert entry["request_id"] == response["X-Request-ID"]
    assert entry["user_id"] == user.pk


def test_a_line_outside_a_request_has_no_request_fields(lines):
    logging.getLogger("tests.logs").warning("beat tick")
    entry = json.loads(lines[0])
    assert "request_id" not in entry and "user_id" not in entry


def test_an_exception_is_logged_by_class_and_frames_never_its_message(lines):
    def view(request):
        try:
            raise ValueError("DUPONT Jeanne, diabète de type 2")
        except ValueError:
            logging.getLogger("tests.logs").exception("booking failed")
        return HttpResponse()

    _serve(view)
    entry = json.loads(lines[0])
    assert entry["exception"] == "ValueError"
    assert any("test_logs.py" in frame for frame in entry["frames"])
    assert "DUPONT" not in lines[0] and "diab" not in lines[0]


def test_log_format_refuses_an_unknown_value(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="LOG_FORMAT must be json or text."):
        _load_settings(monkeypatch, LOG_FORMAT="xml")
