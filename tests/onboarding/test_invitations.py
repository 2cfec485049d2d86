import re

import pyotp
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import Membership, User
from onboarding.models import Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(world, django_capture_on_commit_callbacks):
    def send(email="lea.roy@example.org", role="practitioner") -> str:
        with django_capture_on_commit_callbacks(execute=True):
            _invite(world, email, role)
        return re.search(r"https?://[^/]+(/invitation/[^/\s]+/)", mail.outbox[-1].body).group(1)

    return send


def _invite(world, email, role) -> None:
    admin = world.client("platform_admin")
    response = admin.post(
        reverse("platform:practice_invite", args=[world.practice_a.slug]),
        {"first_name": "Léa", "last_name": "Roy", "email": email, "role": role},
    )
    assert response.status_code == 302


def _accept(client: Client, link: str, username="lea.roy", password="une phrase de passe solide"):
    return client.post(link, {"username": username, "password1": password, "password2": password})


def test_invitation_link_creates_account_then_forces_enrolment(world, invite):
    link = invite()
    client = Client()
    assert client.get(link).status_code == 200
    response = _accept(client, link)
    assert response.status_code == 302, response.content.decode()[-1500:]
    assert response["Location"] == reverse("accounts:enrol")
    user = User.objects.get(username="lea.roy")
    assert Membership.objects.filter(
        user=user, practice=world.practice_a, role="practitioner"
    ).exists()
    page = client.get(reverse("accounts:enrol")).content.decode()
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(secret).now()})
    # Logged in by the enrolment: the charter is asked for, not the login page.
    home = client.get(reverse("accounts:home"))
    assert home.status_code == 302
    assert home["Location"] == reverse("accounts:agreement")
    assert client.get(reverse("accounts:agreement")).wsgi_request.user == user


def test_invitation_link_is_single_use(world, invite):
    link = invite()
    assert _accept(Client(), link).status_code == 302
    again = _accept(Client(), link, username="someone.else")
    assert again.status_code == 410
    assert not User.objects.filter(username="someone.else").exists()


def test_invitation_link_expires_after_72_hours(world, invite, audit_clock_unchecked):
    with freeze_time("2026-11-23 09:00:00") as clock:
        link = invite()
        clock.tick(72 * 3600 + 1)
        assert Client().get(link).status_code == 410
        assert _accept(Client(), link).status_code == 410


def test_invitation_token_is_stored_as_a_digest_only(world, invite):
    link = invite()
    token = link.rstrip("/").rsplit("/", 1)[1]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_digest


def test_invitation_refuses_a_weak_password_and_writes_nothing(world, invite):
    link = invite()
    response = _accept(Client(), link, password="password1234")
    assert response.status_code == 400
    assert "mot de passe" in response.content.decode().lower()
    assert not User.objects.filter(username="lea.roy").exists()
    assert Invitation.objects.get().accepted_at is None


def test_invitation_refuses_a_taken_username(world, invite):
    link = invite()
    response = _accept(Client(), link, username=world.users["practitioner_a"].username)
    assert response.status_code == 400
    assert Invitation.objects.get().accepted_at is None


def test_revoked_invitation_no_longer_works(world, invite):
    link = invite()
    invitation = Invitation.objects.get()
    world.client("platform_admin").post(reverse("platform:invitation_revoke", args=[invitation.pk]))
    assert Client().get(link).status_code == 410


def test_admin_cannot_set_a_password_for_someone(world):
    from django.contrib import admin

    from accounts.models import User as UserModel

    assert "password" not in admin.site._registry[UserModel].fields


def test_invitation_for_existing_email_is_refused_with_message(world):
    world.users["practitioner_b"].email = "known@example.org"
    world.users["practitioner_b"].save()
    admin = world.client("platform_admin")
    response = admin.post(
        reverse("platform:practice_invite", args=[world.practice_a.slug]),
        {"first_name": "A", "last_name": "B", "email": "known@example.org", "role": "practitioner"},
    )
    assert response.status_code == 400
    # Once: the form's rendering shows its errors, the template does not repeat them.
    assert response.content.decode().count("existe déjà") == 1
    assert not Invitation.objects.exists()


def test_provider_invitation_cannot_carry_a_practice_role(world):
    admin = world.client("platform_admin")
    admin.post(
        reverse("platform:provider_invite"),
        {"first_name": "A", "last_name": "B", "email": "x@example.org", "role": "practitioner"},
    )
    assert not Invitation.objects.exists()
