import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import UserSession
from tests.accounts.helpers import PASSWORD, authenticator, otp_step, password_step
from tests.factories import agreement, enrol_device
from tests.personas import verified_client

pytestmark = pytest.mark.django_db


def _login(username: str) -> Client:
    client = Client()
    password_step(client, username)
    otp_step(client, authenticator().now())
    return client


def test_user_sees_and_ends_another_own_session(world):
    user = world.users["telesecretary_a"]
    enrol_device(user)
    agreement()
    user.acceptances.get_or_create(agreement=agreement())
    first = verified_client(user)
    second = verified_client(user)
    other = UserSession.objects.filter(user=user).order_by("id").first()
    page = second.get(reverse("accounts:sessions"))
    assert page.status_code == 200
    response = second.post(reverse("accounts:session_end", args=[other.pk]))
    assert response["Location"] == reverse("accounts:sessions")
    assert first.get(reverse("accounts:home")).status_code == 302
    assert second.get(reverse("accounts:home")).status_code == 200


def test_sessions_page_lists_only_sessions_still_live(world, settings):
    from datetime import timedelta

    from django.utils import timezone

    user = world.users["telesecretary_a"]
    client = verified_client(user)
    now = timezone.now()
    idle = UserSession.objects.create(
        user=user, session_key="idle", ip_address="192.0.2.1", last_seen=now - timedelta(minutes=16)
    )
    old = UserSession.objects.create(
        user=user, session_key="old", ip_address="192.0.2.2", created_at=now - timedelta(hours=11)
    )
    live = UserSession.objects.create(user=user, session_key="live", ip_address="192.0.2.3")
    shown = list(client.get(reverse("accounts:sessions")).context["live_sessions"])
    assert live in shown and len(shown) == 2  # this session and the live one
    assert idle not in shown and old not in shown


def test_user_cannot_end_someone_elses_session(world):
    victim = verified_client(world.users["practitioner_a"])
    target = UserSession.objects.get(user=world.users["practitioner_a"])
    attacker = world.client("telesecretary_a")
    response = attacker.post(reverse("accounts:session_end", args=[target.pk]))
    assert response.status_code == 404
    assert victim.get(reverse("accounts:home")).status_code == 200


def test_password_change_requires_current_and_ends_other_sessions(world):
    user = world.users["telesecretary_a"]
    other = verified_client(user)
    client = verified_client(user)
    url = reverse("accounts:password_change")
    bad = client.post(
        url,
        {
            "old_password": "not-the-password",
            "new_password1": "une-nouvelle-phrase-2026",
            "new_password2": "une-nouvelle-phrase-2026",
        },
    )
    assert bad.status_code == 200
    good = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "une-nouvelle-phrase-2026",
            "new_password2": "une-nouvelle-phrase-2026",
        },
    )
    assert good.status_code == 302
    assert client.get(reverse("accounts:home")).status_code == 200
    assert other.get(reverse("accounts:home")).status_code == 302


def test_login_registers_a_live_session_and_logout_removes_it(world):
    user = world.users["practitioner_a"]
    enrol_device(user)
    client = _login(user.username)
    assert UserSession.objects.filter(user=user).count() == 1
    client.post(reverse("accounts:logout"))
    assert UserSession.objects.filter(user=user).count() == 0


def test_password_step_needs_the_right_password_even_for_sessions(world):
    assert password_step(Client(), "tele_a", PASSWORD + "x").status_code == 200
