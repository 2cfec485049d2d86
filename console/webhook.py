"""The phone system's webhook: signed call events in, a call recorded per
practice out (docs/console.md, "Phone system"). Not a session's page: no login,
no CSRF token; the signature over body and timestamp is the authentication.

An event is answered 202 once checked and accepted: appended to the Redis
stream that console/intake.py records in batches, or, without Redis, recorded
before the answer (docs/decisions.md, "The webhook: accepted, then recorded in
batches")."""

import dataclasses
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import agreement_exempt
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event
from console import cti, intake, selectors, services
from console.models import PhoneLine
from secretariat import ratelimit
from secretariat.net import client_ip


def _refuse(request: HttpRequest, reason: str, status: int) -> JsonResponse:
    record_event(
        actor=Actor.from_request(request),
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        practice=None,
        object_type=services.CALL,
        detail={"reason": reason, "status": status},
    )
    return JsonResponse({"error": reason}, status=status)


# The lines found, by the called number as the phone system wrote it, kept in the
# process for LINE_KEPT_SECONDS: looking a line up was most of what accepting an
# event cost. An event accepted on a line removed (or a practice closed) since
# is refused when it is recorded (console/intake.py), audited the same way.
LINE_KEPT_SECONDS = 10
_lines: dict[str, tuple[float, PhoneLine]] = {}


def _line(called: str) -> PhoneLine | None:
    kept = _lines.get(called)
    if kept is not None and kept[0] > time.monotonic():
        return kept[1]
    line = selectors.line_for(called)
    if line is not None:
        _lines[called] = (time.monotonic() + LINE_KEPT_SECONDS, line)
    return line


def forget_lines() -> None:
    """The lines kept in this process are looked up again (tests)."""
    _lines.clear()


def _seen_before(signature: str) -> bool:
    """A signed event accepted once is refused when posted again within the
    window (its signature is remembered as long as its timestamp is valid)."""
    cache = caches[settings.RATELIMIT_CACHE]
    return not cache.add(f"cti-seen:{signature}", 1, timeout=2 * settings.CTI_REPLAY_WINDOW_SECONDS)


def _checked(request: HttpRequest) -> cti.CallEvent:
    body = request.body
    if len(body) > cti.MAX_BODY:
        raise cti.Refused("too_large", 413)
    signature = request.headers.get(cti.SIGNATURE_HEADER, "")
    cti.verify(
        secret=settings.CTI_WEBHOOK_SECRET,
        timestamp=request.headers.get(cti.TIMESTAMP_HEADER, ""),
        signature=signature,
        body=body,
        now=time.time(),
        window=settings.CTI_REPLAY_WINDOW_SECONDS,
    )
    event = cti.parse(body)
    if _seen_before(signature):
        raise cti.Refused("replayed", 409)
    return event


@csrf_exempt
@login_not_required
@agreement_exempt
@require_POST
def cti_webhook_view(request: HttpRequest) -> JsonResponse:
    if not settings.CTI_WEBHOOK_SECRET:
        return JsonResponse({"error": "disabled"}, status=503)
    verdict = ratelimit.hit(f"cti:{client_ip(request)}", settings.CTI_RATE)
    if not verdict.allowed:
        if verdict.first_refusal:
            _refuse(request, "rate", 429)
        response = JsonResponse({"error": "rate"}, status=429)
        response["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        event = _checked(request)
    except cti.Refused as refused:
        return _refuse(request, refused.reason, refused.status)
    line = _line(event.called)
    if line is None:
        return _refuse(request, "unknown_line", 404)
    item = services.PhoneEvent(
        line=line,
        event=event,
        at=timezone.now(),
        actor=dataclasses.replace(
            Actor.system("cti", practice=line.practice),
            ip=client_ip(request),
            request_id=getattr(request, "request_id", ""),
        ),
    )
    if intake.accept(item):
        return AcceptedResponse({"accepted": True}, status=202)
    # Without Redis, recorded now, on the line as it is now (not as kept).
    line = selectors.line_for(event.called)
    if line is None:
        return _refuse(request, "unknown_line", 404)
    with practice_scope(line.practice):
        services.call_event_record(item=dataclasses.replace(item, line=line))
    return JsonResponse({"accepted": True}, status=202)


class AcceptedResponse(JsonResponse):
    """The answer to an event accepted into the stream. The WSGI server calls
    close() once the answer is sent: the events are recorded then, the phone
    system never waits for them (and the test client, which closes the response
    before returning it, sees them recorded)."""

    def close(self) -> None:
        try:
            intake.drain()
        finally:
            super().close()


class PhoneEventsMiddleware:
    """Before the session: the webhook's POST is answered here. It needs no
    session, user, locale, CSRF token or message, and the rest of the pipeline
    was most of an event's cost (docs/decisions.md, "The webhook: accepted,
    then recorded in batches"). Any other method goes on to the URL's view."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = ""

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self.path:
            self.path = reverse("console:cti_webhook")
        if request.method == "POST" and request.path == self.path:
            return cti_webhook_view(request)
        return self.get_response(request)
