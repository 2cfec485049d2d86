"""The platform admin registers, rotates and revokes a practice's API client;
the secret is shown once, on the answer to the POST, and stored hashed."""

import pytest
from oauth2_provider.models import Application

from audit.models import AuditEvent
from fhir_api.models import ApiClient
from tests.fhir_api.helpers import token_response

pytestmark = pytest.mark.django_db


def _register(client, world, scopes=("system/Slot.rs", "system/Appointment.c")):
    return client.post(
        "/plateforme/api/clients/nouveau/",
        {"practice": world.practice_a.pk, "name": "Logiciel A", "scopes": list(scopes)},
    )


def test_registered_secret_is_shown_once_and_works(world):
    admin = world.client("platform_admin")
    response = _register(admin, world)
    assert response.status_code == 200
    api_client = ApiClient.objects.get()
    secret = response.context["shown"]["secret"]
    assert secret in response.content.decode()
    assert api_client.practice_id == world.practice_a.pk
    assert api_client.scopes == "system/Appointment.c system/Slot.rs"
    assert secret not in Application.objects.get().client_secret
    assert token_response(api_client.client_id, secret).status_code == 200
    listing = admin.get("/plateforme/api/clients/")
    assert api_client.client_id in listing.content.decode()
    assert secret not in listing.content.decode()
    assert listing["Cache-Control"].startswith("max-age=0")
    event = AuditEvent.objects.get(object_type="api_client", action="create")
    assert event.practice_id == world.practice_a.pk
    assert secret not in str(event.detail)


def test_unknown_scope_or_no_scope_is_refused_with_nothing_written(world):
    admin = world.client("platform_admin")
    assert _register(admin, world, scopes=["system/ClinicalNote.rs"]).status_code == 400
    assert _register(admin, world, scopes=[]).status_code == 400
    assert not ApiClient.objects.exists() and not Application.objects.exists()


def test_rotate_then_revoke_from_the_page(world):
    admin = world.client("platform_admin")
    first = _register(admin, world).context["shown"]["secret"]
    api_client = ApiClient.objects.get()
    rotated = admin.post(f"/plateforme/api/clients/{api_client.pk}/secret/")
    second = rotated.context["shown"]["secret"]
    assert second != first
    assert token_response(api_client.client_id, first).status_code == 401
    assert token_response(api_client.client_id, second).status_code == 200
    response = admin.post(f"/plateforme/api/clients/{api_client.pk}/revoquer/")
    assert response.status_code == 302
    assert token_response(api_client.client_id, second).status_code == 401
    api_client.refresh_from_db()
    assert api_client.revoked_at is not None and not api_client.live
    again = admin.post(f"/plateforme/api/clients/{api_client.pk}/secret/")
    assert again.status_code == 302  # a revoked client has no secret to rotate


def test_clients_page_preselects_the_practice_named_by_the_checklist_link(world):
    admin = world.client("platform_admin")
    response = admin.get("/plateforme/api/clients/", {"cabinet": world.practice_b.slug})
    assert response.status_code == 200
    assert response.context["form"]["practice"].value() == world.practice_b.pk


def test_clients_page_ignores_an_unknown_or_hostile_practice_slug(world):
    admin = world.client("platform_admin")
    for slug in ("inconnu", "x" * 100_000, "' OR 1=1 --"):
        response = admin.get("/plateforme/api/clients/", {"cabinet": slug})
        assert response.status_code == 200
        assert response.context["form"]["practice"].value() is None


def test_clients_page_does_not_preselect_a_closed_practice(world):
    world.practice_b.status = world.practice_b.Status.CLOSED
    world.practice_b.save(update_fields=["status"])
    response = world.client("platform_admin").get(
        "/plateforme/api/clients/", {"cabinet": world.practice_b.slug}
    )
    assert response.context["form"]["practice"].value() is None


def test_scope_labels_follow_the_language_and_show_the_scope_verbatim():
    from django.utils import translation

    from fhir_api.forms import ApiClientForm

    with translation.override("en"):
        english = dict(ApiClientForm().fields["scopes"].choices)
    french = dict(ApiClientForm().fields["scopes"].choices)
    assert english["system/Slot.rs"].endswith("— Search free slots")
    assert french["system/Slot.rs"].endswith("— Rechercher les créneaux libres")
    assert '<code translate="no">system/Slot.rs</code>' in french["system/Slot.rs"]
