"""The Django admin as the superusers' technical console (secretariat/admin.py):
our login only, read-only where the application has rules, every write audited.
Every persona's refusal on every admin URL is in the access table."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import ForeignKey
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.models import LoginThrottle, Membership, Practice
from accounts.roles import Role
from audit.models import AuditEvent
from secretariat.admin import WRITABLE
from secretariat.apps import UNREGISTERED
from tests.accounts.helpers import authenticator, password_step
from tests.factories import PracticeFactory, UserFactory, agreement, enrol_device, grant
from tests.personas import verified_client

pytestmark = pytest.mark.django_db

# Apps whose data the admin never changes: patients, the agenda, the audit trail
# and the compliance, onboarding and continuity records.
_DOMAIN_APPS = {"patients", "appointments", "audit", "compliance", "onboarding", "continuity"}


@pytest.fixture
def superuser():
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    enrol_device(user)
    user.acceptances.create(agreement=agreement())
    return user


@pytest.fixture
def console(superuser) -> Client:
    return verified_client(superuser)


def _admin_events():
    return AuditEvent.objects.filter(object_type="admin").order_by("id")


# --- Login: ours only -----------------------------------------------------------------


def test_admin_login_page_sends_to_our_login(superuser):
    response = Client().get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_admin_login_checks_no_password_nor_code(superuser):
    """Its own form (password + OTP token, no lockout, no audit) is gone."""
    client = Client()
    for _attempt in range(10):
        client.post(
            reverse("admin:login"),
            {"username": "root", "password": "wrong-password-123", "otp_token": "000000"},
        )
    response = client.post(
        reverse("admin:login"),
        {
            "username": "root",
            "password": "correct-horse-battery-9",
            "otp_device": superuser.totpdevice_set.get().persistent_id,
            "otp_token": authenticator().now(),
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert client.get(reverse("admin:index")).status_code == 302
    assert not LoginThrottle.objects.exists()


def test_admin_is_reached_through_our_login_and_comes_back(superuser):
    client = Client()
    first = client.get(reverse("admin:index"))
    assert first["Location"].startswith(reverse("accounts:login"))
    client.post(first["Location"], {"username": "root", "password": "correct-horse-battery-9"})
    response = client.post(reverse("accounts:otp"), {"code": authenticator().now()})
    assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert AuditEvent.objects.filter(action="login", actor_id=superuser.pk).exists()


def test_our_login_does_not_follow_a_next_elsewhere(superuser):
    client = Client()
    url = reverse("accounts:login") + "?next=https://evil.example/"
    client.post(url, {"username": "root", "password": "correct-horse-battery-9"})
    response = client.post(reverse("accounts:otp"), {"code": authenticator().now()})
    assert response["Location"] == reverse("accounts:home")


def test_admin_lockout_is_ours(superuser):
    client = Client()
    for _attempt in range(5):
        password_step(client, "root", "wrong-password-123")
    assert password_step(client, "root").status_code == 429


def test_admin_logout_is_ours(superuser, console):
    response = console.post(reverse("admin:logout"))
    assert response["Location"] == reverse("accounts:login")
    assert AuditEvent.objects.filter(action="logout", actor_id=superuser.pk).exists()
    assert not superuser.live_sessions.exists()


def test_admin_password_change_is_ours(console):
    response = console.get(reverse("admin:password_change"))
    assert response["Location"] == reverse("accounts:password_change")


def test_admin_refuses_a_logged_in_user_who_is_not_staff():
    user = grant(UserFactory(username="tele"), Role.TELESECRETARY, PracticeFactory())
    response = verified_client(user).get(reverse("admin:index"))
    assert response.status_code == 403
    assert AuditEvent.objects.filter(action="permission_denied", actor_id=user.pk).exists()


# --- What may change --------------------------------------------------------------------


def test_admin_cannot_switch_a_practice_to_active(console):
    practice = PracticeFactory(status=Practice.Status.ONBOARDING)
    url = reverse("admin:accounts_practice_change", args=[practice.pk])
    data = {"name": practice.name, "slug": practice.slug, "timezone": "Europe/Paris"}

    response = console.post(url, data | {"status": "active"})

    assert response.status_code == 403
    practice.refresh_from_db()
    assert practice.status == Practice.Status.ONBOARDING
    assert AuditEvent.objects.filter(action="permission_denied", object_id=url[:64]).exists() or (
        AuditEvent.objects.filter(action="permission_denied").exists()
    )
    # Still shown, for support.
    assert console.get(url).status_code == 200


def test_admin_cannot_grant_a_role(console, superuser):
    practice = PracticeFactory()
    response = console.post(
        reverse("admin:accounts_membership_add"),
        {"user": superuser.pk, "practice": practice.pk, "role": "practitioner"},
    )
    assert response.status_code == 403
    assert not Membership.objects.filter(user=superuser).exists()


def test_admin_has_no_group_page(console):
    assert console.get("/admin/auth/group/").status_code == 404


def _superuser_request(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    return request


def test_admin_may_change_only_what_the_policy_names(superuser):
    request = _superuser_request(superuser)
    for model, model_admin in admin.site._registry.items():
        allowed = WRITABLE.get(model._meta.label_lower, frozenset())
        granted = {
            name
            for name, check in (
                ("add", model_admin.has_add_permission),
                ("change", model_admin.has_change_permission),
                ("delete", model_admin.has_delete_permission),
            )
            if check(request)
        }
        assert granted == allowed, model._meta.label
        if not allowed:
            assert model_admin.get_actions(request) == {}, model._meta.label


def _tenancy_or_domain(model) -> bool:
    if model._meta.app_label in _DOMAIN_APPS or model in (Practice, Membership):
        return True
    return any(
        isinstance(field, ForeignKey) and field.related_model is Practice
        for field in model._meta.get_fields()
    )


def test_admin_never_changes_tenancy_or_patient_data():
    guarded = {m._meta.label_lower for m in apps.get_models() if _tenancy_or_domain(m)}
    assert {"patients.patient", "accounts.practice", "accounts.membership"} <= guarded
    assert not guarded & set(WRITABLE)
    for label in UNREGISTERED:
        assert not admin.site.is_registered(apps.get_model(label))


# --- Every write audited ----------------------------------------------------------------


def test_admin_pausing_a_periodic_task_is_audited(console, superuser):
    every = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    task = PeriodicTask.objects.create(
        name="seal", task="compliance.tasks.seal_audit_chains", interval=every
    )

    response = console.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": "disable_tasks", "_selected_action": [task.pk]},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.enabled is False
    event = _admin_events().get()
    assert (event.action, event.actor_id, event.role, event.outcome) == (
        "update",
        superuser.pk,
        "superuser",
        "allowed",
    )
    assert event.detail == {
        "model": "django_celery_beat.periodictask",
        "admin_action": "disable_tasks",
        "objects": [str(task.pk)],
        "status": 302,
    }


def test_admin_deactivating_an_account_is_audited_and_changes_nothing_else(console):
    user = UserFactory(username="leaver", email="leaver@example.org")
    url = reverse("admin:accounts_user_change", args=[user.pk])

    response = console.post(url, {"email": "attacker@example.org"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.is_active, user.email) == (False, "leaver@example.org")
    event = _admin_events().get()
    assert (event.action, event.object_id, event.detail["model"]) == (
        "update",
        str(user.pk),
        "accounts.user",
    )


def test_admin_unlocking_a_login_is_audited(console):
    counter = LoginThrottle.objects.create(key="user:julie", attempts=100, last_at=timezone.now())
    response = console.post(
        reverse("admin:accounts_loginthrottle_changelist"),
        {"action": "delete_selected", "_selected_action": [counter.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not LoginThrottle.objects.exists()
    event = _admin_events().get()
    assert (event.action, event.object_id, event.detail["objects"]) == (
        "delete",
        str(counter.pk),
        [str(counter.pk)],
    )


def test_admin_publishing_a_charter_version_is_audited(console):
    response = console.post(
        reverse("admin:accounts_confidentialityagreement_add"),
        {
            "version": 7,
            "title": "Charte 2027",
            "text": "Texte",
            "published_at_0": "2027-01-01",
            "published_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302
    event = _admin_events().get()
    assert (event.action, event.detail["model"]) == ("create", "accounts.confidentialityagreement")
