"""The access pipeline (secretariat/pipeline.py): its middlewares in the order
the module documents, and each gate taking precedence over the next."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import ConfidentialityAgreement
from accounts.sessions import SESSION_LAST_SEEN
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

PIPELINE = [
    "secretariat.health.HealthMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "secretariat.middleware.RequestIdMiddleware",
    "accounts.sessions.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.ActorMiddleware",
    "accounts.sessions.SessionPolicyMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "secretariat.pipeline.AccessGateMiddleware",
]


def test_pipeline_middlewares_in_the_documented_order():
    positions = [settings.MIDDLEWARE.index(name) for name in PIPELINE]
    assert positions == sorted(positions)


def _overdue_training(user):
    user.date_joined = timezone.now() - timedelta(days=400)
    user.save(update_fields=["date_joined"])


def _new_agreement():
    ConfidentialityAgreement.objects.create(version=99, title="Charte", text="Nouvelle version")


def test_expired_session_ends_before_any_gate(world):
    client = world.client("telesecretary_a")
    session = client.session
    session[SESSION_LAST_SEEN] = (timezone.now() - timedelta(hours=1)).isoformat()
    session.save()
    _new_agreement()
    response = client.get(f"/p/{world.practice_b.slug}/")
    # Back to the same page after logging in again (issue 14 item 6).
    assert response["Location"] == f"{reverse(settings.LOGIN_URL)}?next=%2Fp%2Fcabinet-b%2F"
    assert AuditEvent.objects.filter(action="session_expired").count() == 1


def test_charter_comes_before_the_practice(world):
    # Not a member of B: the charter still answers first, so the answer says
    # nothing about B; and nothing is entered or audited as a practice refusal.
    client = world.client("telesecretary_a")
    _new_agreement()
    response = client.get(f"/p/{world.practice_b.slug}/")
    assert response["Location"] == reverse("accounts:agreement")
    assert not AuditEvent.objects.filter(action="permission_denied").exists()


def test_practice_comes_before_the_training(world):
    _overdue_training(world.users["telesecretary_a"])
    client = world.client("telesecretary_a")
    assert client.get(f"/p/{world.practice_b.slug}/").status_code == 404
    refused = AuditEvent.objects.get(action="permission_denied")
    assert (refused.object_type, refused.detail) == ("practice", {"status": 404})


def test_training_refuses_inside_the_practice_scope(world):
    _overdue_training(world.users["telesecretary_a"])
    client = world.client("telesecretary_a")
    response = client.get(f"/p/{world.practice_a.slug}/")
    assert response["Location"] == reverse("continuity:training_required")
    refused = AuditEvent.objects.get(action="permission_denied")
    # Recorded in practice A's chain: the practice was resolved first.
    assert refused.practice_id == world.practice_a.pk
    assert refused.detail == {"reason": "training_overdue"}


def test_a_view_refusal_is_audited_with_its_url_name(world):
    client = world.client("telesecretary_a")
    url = reverse("audit:event_list")
    assert client.get(url).status_code == 403
    refused = AuditEvent.objects.get(action="permission_denied")
    assert (refused.object_type, refused.object_id, refused.detail) == (
        "url",
        "audit:event_list",
        {"status": 403},
    )


def test_acting_role_reaches_the_audit_of_a_practice_page(world):
    client = world.client("practitioner_a")
    assert client.get(f"/p/{world.practice_a.slug}/").status_code == 200
    viewed = AuditEvent.objects.get(action="view", object_type="practice")
    assert (viewed.role, viewed.practice_id, viewed.actor_username) == (
        "practitioner",
        world.practice_a.pk,
        "dr_a",
    )
