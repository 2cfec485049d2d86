"""The OAuth 2.0 endpoints, django-oauth-toolkit's views behind our checks: a
rate limit per client id, and the audit of every token issued or refused to a
known client, in its practice's chain. Client credentials only: a client is a
confidential Application with the client-credentials grant (fhir.services)."""

import base64
import binascii
from urllib.parse import unquote

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from oauth2_provider.views import RevokeTokenView, TokenView

from accounts.permissions import agreement_exempt
from audit.context import Actor
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from fhir_api.models import ApiClient
from secretariat import ratelimit

CLIENT_ID_MAX = 100


def _client_id(request: HttpRequest) -> str:
    kind, _space, encoded = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return unquote(decoded.partition(":")[0])[:CLIENT_ID_MAX]
    return request.POST.get("client_id", "")[:CLIENT_ID_MAX]


def _audit(request: HttpRequest, client_id: str, action: Action, outcome: Outcome, **detail):
    api_client = ApiClient.objects.filter(client_id=client_id).first() if client_id else None
    if api_client is None:
        return  # no known client: nothing to attribute the attempt to
    actor = Actor.from_request(request, user=None)
    record_event(
        actor=Actor(
            role="api_client",
            system_name=f"api:{api_client.client_id}",
            practice_id=api_client.practice_id,
            ip=actor.ip,
            user_agent=actor.user_agent,
            request_id=actor.request_id,
        ),
        action=action,
        outcome=outcome,
        practice=api_client.practice_id,
        object_type=ObjectType.API_CLIENT,
        object_id=api_client.pk,
        detail=detail,
    )


def _throttled(request: HttpRequest, client_id: str) -> HttpResponse | None:
    verdict = ratelimit.hit(f"fhir-token:{client_id}", settings.FHIR_TOKEN_RATE)
    if verdict.allowed:
        return None
    if verdict.first_refusal:
        _audit(request, client_id, Action.PERMISSION_DENIED, Outcome.DENIED, status=429)
    response = JsonResponse({"error": "slow_down"}, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@login_not_required
@agreement_exempt
@require_POST
def token_view(request: HttpRequest) -> HttpResponse:
    """client_credentials → a bearer token for the client's scopes (or those
    asked, if the client holds them)."""
    client_id = _client_id(request)
    throttled = _throttled(request, client_id)
    if throttled is not None:
        return throttled
    response = TokenView.as_view()(request)
    if response.status_code == 200:
        _audit(request, client_id, Action.LOGIN, Outcome.ALLOWED, grant_type="client_credentials")
    else:
        _audit(request, client_id, Action.LOGIN_FAILED, Outcome.DENIED, status=response.status_code)
    return response


@csrf_exempt
@login_not_required
@agreement_exempt
@require_POST
def revoke_view(request: HttpRequest) -> HttpResponse:
    """RFC 7009: the client revokes one of its tokens."""
    client_id = _client_id(request)
    throttled = _throttled(request, client_id)
    if throttled is not None:
        return throttled
    response = RevokeTokenView.as_view()(request)
    if response.status_code == 200:
        _audit(request, client_id, Action.LOGOUT, Outcome.ALLOWED)
    return response
