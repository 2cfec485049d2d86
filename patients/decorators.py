"""Decorators of views that show sealed (encrypted) data."""

import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from patients import keys
from secretariat.crypto import DecryptionError

logger = logging.getLogger(__name__)


def sealed_data(view: Callable) -> Callable:
    """Pages that decrypt: a destroyed key gives the "données indisponibles"
    page, a ciphertext that does not open gives an error page. Neither ever
    shows ciphertext or an empty value in place of the data."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except keys.KeyUnavailable:
            response = render(request, "patients/unavailable.html", status=410)
        except DecryptionError:
            # Identifiers only: the request id ties this line to the error page.
            logger.error("decryption failed (request %s)", getattr(request, "request_id", ""))
            record_event(
                actor=request.actor,
                action=Action.VIEW,
                outcome=Outcome.DENIED,
                object_type=ObjectType.PATIENT,
                object_id=kwargs.get("patient", ""),
                detail={"error": "decryption"},
            )
            response = render(request, "patients/decryption_error.html", status=500)
        response["Cache-Control"] = "no-store"
        return response

    return wrapper
