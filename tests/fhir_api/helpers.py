"""API clients, tokens and a practice ready to book, for the FHIR API tests."""

import base64

from django.test import Client

from accounts.models import Practice
from fhir_api import services
from fhir_api.scopes import SCOPES
from tests.factories import as_actor

ALL_SCOPES = sorted(SCOPES)


def register(world, practice: Practice | None = None, scopes=None, name="Logiciel du cabinet"):
    """A client registered by the platform admin; returns (api_client, secret)."""
    admin = world.users["platform_admin"]
    return services.api_client_register(
        practice=practice or world.practice_a,
        name=name,
        scopes=list(scopes or ALL_SCOPES),
        actor=as_actor(admin, "platform_admin"),
    )


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token_response(client_id: str, secret: str, scope: str | None = None):
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return Client().post("/fhir/auth/token", data, HTTP_AUTHORIZATION=basic(client_id, secret))


def token(api_client, secret: str, scope: str | None = None) -> str:
    response = token_response(api_client.client_id, secret, scope)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def api_client_for(world, practice=None, scopes=None) -> Client:
    """A test client sending a fresh bearer token of a new API client."""
    api_client, secret = register(world, practice, scopes)
    return bearer(token(api_client, secret))


def bearer(access_token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {access_token}")
