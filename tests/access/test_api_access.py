"""The FHIR API's access table (routes_fhir.API_ROUTES): every route and method
with no token, a token without its scope, another practice's token, and a
token holding just its scope."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.models import Appointment
from audit.models import AuditEvent
from fhir_api.scopes import SCOPES
from tests.access.routes_fhir import API_ROUTES, body_of
from tests.appointments.helpers import booking_world
from tests.fhir_api.helpers import bearer, register, token

pytestmark = pytest.mark.django_db
GUARDED = [route for route in API_ROUTES if route.scope]


def _request(route, world) -> tuple[str, dict, str]:
    """The route's URL, query and body, built before any savepoint (the objects
    they name are made once)."""
    return (
        reverse(route.name, kwargs=route.kwargs(world)),
        route.query(world),
        body_of(route, world),
    )


def _call(client: Client, route, request: tuple[str, dict, str]):
    url, query, body = request
    if route.method == "get":
        return client.get(url, query)
    return client.generic(route.method.upper(), url, body or "", "application/fhir+json")


def _practice_a_ids(world) -> set[str]:
    setup = booking_world(world)
    ids = {str(setup.practitioner.pk), str(setup.patient.pk)}
    return ids | {str(row.pk) for row in Appointment.objects.filter(practice=setup.practice)}


def _client(world, practice, scopes) -> Client:
    return bearer(token(*register(world, practice, scopes)))


def _last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@pytest.mark.parametrize("route", GUARDED, ids=lambda r: f"{r.name}-{r.method}")
def test_api_route_answers_each_token_as_declared(world, route):
    request = _request(route, world)
    others = sorted(set(SCOPES) - {route.scope})
    cases = [
        ("no token", Client(), 401, None),
        ("without the scope", _client(world, world.practice_a, others), 403, "permission_denied"),
        ("with the scope", _client(world, world.practice_a, [route.scope]), route.ok_status, None),
    ]
    for label, client, expected, action in cases:
        with transaction.atomic():
            since = _last_id()
            response = _call(client, route, request)
            assert response.status_code == expected, (label, response.content)
            assert response["Content-Type"].startswith("application/fhir+json")
            actions = set(AuditEvent.objects.filter(id__gt=since).values_list("action", flat=True))
            wanted = route.audit_action if expected == route.ok_status else action
            if wanted:
                assert wanted in actions, (label, actions)
            transaction.set_rollback(True)


@pytest.mark.parametrize("route", GUARDED, ids=lambda r: f"{r.name}-{r.method}")
def test_another_practices_client_never_reaches_practice_a(world, route):
    request = _request(route, world)
    client = _client(world, world.practice_b, [route.scope])
    response = _call(client, route, request)
    if route.instance:
        assert response.status_code == 404
    elif route.method == "post":
        assert response.status_code == 422  # A's patient and practitioner are unknown to B
    else:
        assert response.status_code == 200
        found = {entry["resource"]["id"] for entry in response.json().get("entry", [])}
        with practice_scope(world.practice_a):
            assert not found & _practice_a_ids(world)


@pytest.mark.parametrize("route", [r for r in API_ROUTES if not r.scope], ids=lambda r: r.name)
def test_public_api_routes_need_no_token(world, route):
    assert _call(Client(), route, _request(route, world)).status_code == route.ok_status
