"""OAuth 2.0 client credentials and SMART system scopes: a client sees its
practice only, within its scopes, while its token lives."""

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from audit.models import AuditEvent
from fhir_api import services
from tests.appointments.helpers import booking_world
from tests.factories import as_actor
from tests.fhir_api.helpers import bearer, register, token, token_response

pytestmark = pytest.mark.django_db


def test_token_carries_the_clients_scopes_and_is_stored_only_as_a_checksum(world):
    api_client, secret = register(world, scopes=["system/Slot.rs", "system/Patient.rs"])
    response = token_response(api_client.client_id, secret)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] <= 300
    assert set(body["scope"].split()) == {"system/Slot.rs", "system/Patient.rs"}
    stored = AccessToken.objects.get(application=api_client.application)
    assert stored.token == "" and stored.token_checksum
    application = Application.objects.get(pk=api_client.application_id)
    assert secret not in application.client_secret
    event = AuditEvent.objects.filter(object_type="api_client", action="login").get()
    assert event.practice_id == world.practice_a.pk


def test_a_scope_the_client_does_not_hold_is_refused_at_the_token_endpoint(world):
    api_client, secret = register(world, scopes=["system/Slot.rs"])
    response = token_response(api_client.client_id, secret, scope="system/Patient.rs")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_wrong_secret_is_refused_and_audited(world):
    api_client, _secret = register(world)
    response = token_response(api_client.client_id, "not-the-secret")
    assert response.status_code == 401
    assert AuditEvent.objects.filter(object_type="api_client", action="login_failed").exists()


def test_wrong_scope_answers_403_and_is_audited(world):
    setup = booking_world(world)
    api_client, secret = register(world, scopes=["system/Slot.rs"])
    client = bearer(token(api_client, secret))
    assert client.get("/fhir/Slot", {"service-type": str(setup.kind.pk)}).status_code == 200
    for url in (f"/fhir/Patient/{setup.patient.pk}", "/fhir/Patient?family=x", "/fhir/Appointment"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["issue"][0]["code"] == "forbidden"
    # Read without create: booking is refused too.
    reader = register(world, scopes=["system/Appointment.rs"])
    response = bearer(token(*reader)).post(
        "/fhir/Appointment", "{}", content_type="application/fhir+json"
    )
    assert response.status_code == 403
    denied = AuditEvent.objects.filter(role="api_client", action="permission_denied")
    assert denied.count() == 4


def test_a_token_asked_with_fewer_scopes_gets_only_those(world):
    setup = booking_world(world)
    api_client, secret = register(world)
    client = bearer(token(api_client, secret, scope="system/Slot.rs"))
    assert client.get(f"/fhir/Patient/{setup.patient.pk}").status_code == 403


@pytest.mark.parametrize(
    "header", ["", "Bearer", "Bearer nope", "Basic abc", "Bearer " + "x" * 300]
)
def test_missing_or_unknown_token_answers_401(world, header):
    response = Client(HTTP_AUTHORIZATION=header).get("/fhir/Practitioner")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["issue"][0]["code"] == "login"


def test_token_in_the_query_string_is_not_accepted(world):
    api_client, secret = register(world)
    access_token = token(api_client, secret)
    assert Client().get(f"/fhir/Practitioner?access_token={access_token}").status_code == 401


def test_expired_token_answers_401(world):
    api_client, secret = register(world)
    client = bearer(token(api_client, secret))
    assert client.get("/fhir/Practitioner").status_code == 200
    AccessToken.objects.filter(application=api_client.application).update(
        expires=timezone.now() - timezone.timedelta(seconds=1)
    )
    assert client.get("/fhir/Practitioner").status_code == 401


def test_revoked_client_loses_its_tokens_and_its_secret(world):
    api_client, secret = register(world)
    client = bearer(token(api_client, secret))
    services.api_client_revoke(
        api_client=api_client, actor=as_actor(world.users["platform_admin"], "platform_admin")
    )
    assert client.get("/fhir/Practitioner").status_code == 401
    assert token_response(api_client.client_id, secret).status_code == 401
    assert not AccessToken.objects.exists()


def test_rotated_secret_replaces_the_old_one_and_its_tokens(world):
    api_client, old = register(world)
    client = bearer(token(api_client, old))
    _client, new = services.api_client_rotate(
        api_client=api_client, actor=as_actor(world.users["platform_admin"], "platform_admin")
    )
    assert client.get("/fhir/Practitioner").status_code == 401
    assert token_response(api_client.client_id, old).status_code == 401
    assert bearer(token(api_client, new)).get("/fhir/Practitioner").status_code == 200


def test_a_token_revoked_by_its_client_stops(world):
    api_client, secret = register(world)
    access_token = token(api_client, secret)
    from tests.fhir_api.helpers import basic

    response = Client().post(
        "/fhir/auth/revoke",
        {"token": access_token},
        HTTP_AUTHORIZATION=basic(api_client.client_id, secret),
    )
    assert response.status_code == 200
    assert bearer(access_token).get("/fhir/Practitioner").status_code == 401


def test_rate_limit_per_client_answers_429_and_audits_once(world, settings):
    settings.FHIR_API_RATE = "2/m"
    api_client, secret = register(world)
    client = bearer(token(api_client, secret))
    statuses = [client.get("/fhir/Practitioner").status_code for _ in range(4)]
    assert statuses == [200, 200, 429, 429]
    response = client.get("/fhir/Practitioner")
    assert int(response["Retry-After"]) > 0
    denied = AuditEvent.objects.filter(role="api_client", action="permission_denied")
    assert [event.detail["status"] for event in denied] == [429]
    # Another client of the same practice has its own budget.
    other = bearer(token(*register(world)))
    assert other.get("/fhir/Practitioner").status_code == 200
