"""Who calls the API: the OAuth 2.0 client behind a bearer token.

The token is looked up by its SHA-256 checksum (django-oauth-toolkit stores
nothing else: COMPLIANT_BCP_RFC9700_TOKEN_STORAGE). It counts only while it has
not expired, its client is live (not revoked, its Application still there)
and the client's practice is active. The practice is the client's, never the
request's; the scopes are the token's, within the client's registration.
"""

import hashlib
from dataclasses import dataclass, replace

from django.http import HttpRequest
from oauth2_provider.models import AccessToken

from accounts.models import Practice
from audit.context import Actor
from fhir_api import scopes as smart
from fhir_api.models import ApiClient

API_ROLE = "api_client"
TOKEN_MAX_LENGTH = 255


@dataclass(frozen=True)
class ApiAccess:
    api_client: ApiClient
    practice: Practice
    scopes: frozenset[str]


def bearer_token(request: HttpRequest) -> str | None:
    kind, _space, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return token


def authenticate(request: HttpRequest) -> ApiAccess | None:
    token = bearer_token(request)
    if token is None:
        return None
    checksum = hashlib.sha256(token.encode()).hexdigest()
    access_token = (
        AccessToken.objects.select_related("application__api_client__practice")
        .filter(token_checksum=checksum)
        .first()
    )
    if access_token is None or access_token.is_expired():
        return None
    api_client = getattr(access_token.application, "api_client", None)
    if (
        api_client is None
        or not api_client.live
        or api_client.practice.status != Practice.Status.ACTIVE
    ):
        return None
    granted = smart.parse(access_token.scope) & smart.parse(api_client.scopes)
    return ApiAccess(api_client=api_client, practice=api_client.practice, scopes=granted)


def api_actor(request: HttpRequest, access: ApiAccess) -> Actor:
    """The client as the audit trail shows it: `system:api:<client id>`, role
    api_client, in its practice's chain, with the request's IP and id."""
    actor = Actor.from_request(request, user=None)
    return replace(
        actor,
        user=None,
        role=API_ROLE,
        system_name=f"api:{access.api_client.client_id}",
        practice_id=access.practice.pk,
    )
