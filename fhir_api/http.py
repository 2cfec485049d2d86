"""The API's HTTP plumbing: the decorator every FHIR endpoint wears (bearer
token, rate limit per client, SMART scope, the practice's scope, the audit of
each call and of each refusal), FHIR JSON answers, OperationOutcome errors,
search parameters and Bundle paging.

The API is not session-based: no cookie, no CSRF token, no login page; the
token names the client and the client names the practice. The middleware
pipeline still runs (request id, CSP and security headers); the access gate
has nothing to do for a request without a logged-in user.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.permissions import agreement_exempt
from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from fhir_api import resources
from fhir_api import scopes as smart
from fhir_api.auth import ApiAccess, api_actor, authenticate
from secretariat import ratelimit

FHIR_JSON = "application/fhir+json"
COMMON_PARAMS = frozenset({"_count", "_page", "_format"})


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Result:
    """A view's answer and the audit event it calls for (none when a service
    already wrote it)."""

    resource: dict
    status: int = 200
    action: Action | None = Action.VIEW
    object_type: str = ObjectType.FHIR_RESOURCES
    object_id: object = ""
    detail: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    request: HttpRequest
    access: ApiAccess
    actor: Actor

    @property
    def practice(self):
        return self.access.practice


def fhir_response(resource: dict, status: int = 200, headers: dict | None = None) -> HttpResponse:
    if settings.FHIR_VALIDATE_RESPONSES:
        resources.validated(resource)
    body = json.dumps(resource, ensure_ascii=False)
    response = HttpResponse(body, status=status, content_type=f"{FHIR_JSON}; charset=utf-8")
    response["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(status: int, message: str, headers: dict | None = None) -> HttpResponse:
    return fhir_response(resources.outcome(status, message), status, headers)


def _audit_refusal(actor: Actor, status: int, resource: str) -> None:
    record_event(
        actor=actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type=ObjectType.FHIR_RESOURCES,
        object_id=resource,
        detail={"status": status},
    )


def _unauthorised() -> HttpResponse:
    return error_response(
        401,
        _("Jeton d'accès absent, invalide, expiré ou révoqué."),
        {"WWW-Authenticate": 'Bearer realm="fhir", error="invalid_token"'},
    )


def api(resource: str, **letters: str) -> Callable:
    """An endpoint on `resource`: `GET="s"` means GET needs the scope letter s
    (search) on it, and so on; other methods answer 405."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, **kwargs) -> HttpResponse:
            access = authenticate(request)
            if access is None:
                return _unauthorised()
            actor = api_actor(request, access)
            refused = _refusal(access, actor, resource, letters[request.method])
            if refused is not None:
                return refused
            try:
                with practice_scope(access.practice):
                    result = view(Call(request, access, actor), **kwargs)
                    _audit_result(actor, result)
            except ApiError as error:
                if error.status in (403, 404):
                    _audit_refusal(actor, error.status, resource)
                return error_response(error.status, error.message)
            return fhir_response(result.resource, result.status, result.headers)

        methods = [method for method in letters]
        return csrf_exempt(
            login_not_required(agreement_exempt(require_http_methods(methods)(wrapper)))
        )

    return decorator


def _refusal(access: ApiAccess, actor: Actor, resource: str, letter: str) -> HttpResponse | None:
    verdict = ratelimit.hit(f"fhir-client:{access.api_client.pk}", settings.FHIR_API_RATE)
    if not verdict.allowed:
        if verdict.first_refusal:
            _audit_refusal(actor, 429, resource)
        return error_response(
            429,
            _("Trop de requêtes pour ce client : réessayez plus tard."),
            {"Retry-After": str(verdict.retry_after)},
        )
    if not smart.allows(access.scopes, resource, letter):
        _audit_refusal(actor, 403, resource)
        return error_response(
            403, _("Le jeton n'a pas l'autorisation system/%(scope)s.") % {"scope": resource}
        )
    return None


def _audit_result(actor: Actor, result: Result) -> None:
    if result.action is None:
        return
    record_event(
        actor=actor,
        action=result.action,
        object_type=result.object_type,
        object_id=result.object_id,
        detail=result.detail,
    )


# Search parameters and paging ---------------------------------------------------


def search_params(request: HttpRequest, allowed: set[str]) -> dict[str, list[str]]:
    """The query's parameters, each a list of values; an unknown one is a 400
    (ignoring it could widen a search the caller meant to narrow)."""
    params = {name: request.GET.getlist(name) for name in request.GET}
    unknown = sorted(set(params) - allowed - COMMON_PARAMS)
    if unknown:
        raise ApiError(
            400, _("Paramètre de recherche non pris en charge : %(name)s.") % {"name": unknown[0]}
        )
    return params


def one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(
            400, _("Le paramètre %(name)s ne peut être donné qu'une fois.") % {"name": name}
        )
    return values[0]


def page_size(params: dict[str, list[str]]) -> int:
    """`_count`, bounded: FHIR_PAGE_DEFAULT when absent, at most FHIR_PAGE_MAX."""
    value = one(params, "_count")
    if value is None:
        return settings.FHIR_PAGE_DEFAULT
    if not value.isdigit():
        raise ApiError(400, _("_count doit être un nombre entier positif."))
    return max(1, min(int(value), settings.FHIR_PAGE_MAX))


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/")


def page_url(request: HttpRequest, cursor: str) -> str:
    query = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != "_page"]
    query.append(("_page", cursor))
    return request.build_absolute_uri(request.path) + "?" + urlencode(query)


def searchset(call: Call, entries: list[dict], cursor: str | None, **audit) -> Result:
    request = call.request
    bundle = resources.bundle(
        entries,
        request.build_absolute_uri(),
        page_url(request, cursor) if cursor else None,
        base_url(request),
    )
    return Result(bundle, action=Action.SEARCH, **audit)
