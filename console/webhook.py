"""The phone system's webhook: signed call events in, a call recorded per
practice out (docs/console.md, "Phone system"). Not a session's page: no login,
no CSRF token; the signature over body and timestamp is the authentication."""

import dataclasses
import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import caches
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import agreement_exempt
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event
from console import cti, selectors, services
from secretariat import ratelimit
from secretariat.net import client_ip


def _refuse(request: HttpRequest, reason: str, status: int) -> JsonResponse:
    record_event(
        actor=request.actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        practice=None,
        object_type=services.CALL,
        detail={"reason": reason, "status": status},
    )
    return JsonResponse({"error": reason}, status=status)


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
    line = selectors.line_for(event.called)
    if line is None:
        return _refuse(request, "unknown_line", 404)
    actor = dataclasses.replace(
        Actor.system("cti", practice=line.practice),
        ip=request.actor.ip,
        request_id=request.actor.request_id,
    )
    with practice_scope(line.practice):
        call, changed = services.call_event_record(line=line, event=event, actor=actor)
    return JsonResponse({"call": str(call.pk), "state": call.state, "changed": changed})
