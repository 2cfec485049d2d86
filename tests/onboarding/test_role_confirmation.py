"""A practice role granted by the provider opens nothing until the practice (a
manager) confirms it; the first manager of a practice is confirmed by a second
platform admin; every such grant alerts compliance (issue 12, defect 13)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Practice, User
from accounts.roles import Role
from accounts.services import MembershipError, membership_confirm, membership_grant
from audit.context import Actor
from audit.models import AuditEvent
from compliance.detectors import detect_suspicious_activity
from compliance.models import Alert
from tests.factories import PracticeFactory, UserFactory, as_actor, grant
from tests.patients.helpers import add_note, make_patient
from tests.personas import verified_client

pytestmark = pytest.mark.django_db

NOTE = "Antécédent psychiatrique confidentiel"


def _invite(world, client: Client, practice, email: str, role: str, capture) -> str:
    with capture(execute=True):
        response = client.post(
            reverse("platform:practice_invite", args=[practice.slug]),
            {"first_name": "Moi", "last_name": "Même", "email": email, "role": role},
        )
    assert response.status_code == 302
    return re.search(r"https?://[^/]+(/invitation/[^/\s]+/)", mail.outbox[-1].body).group(1)


def _alerts():
    """The compliance alerts the detector raises from the audit trail (it leaves
    the last minute for its next pass)."""
    detect_suspicious_activity(now=timezone.now() + timedelta(minutes=2))
    return Alert.objects.filter(kind="role_grant")


def _accept(link: str, username: str) -> User:
    password = "une phrase de passe solide"
    Client().post(link, {"username": username, "password1": password, "password2": password})
    return User.objects.get(username=username)


@pytest.fixture
def noted_patient(world):
    patient = make_patient(world.practice_a)
    add_note(patient, world.users["practitioner_a"], NOTE)
    return patient


def test_platform_admin_inviting_their_own_address_cannot_read_clinical_notes(
    world, noted_patient, django_capture_on_commit_callbacks
):
    admin = world.users["platform_admin"]
    link = _invite(
        world,
        world.client("platform_admin"),
        world.practice_a,
        "moi.perso@example.org",
        "practitioner",
        django_capture_on_commit_callbacks,
    )
    alter_ego = _accept(link, "moi.perso")

    client = verified_client(alter_ego)
    detail = reverse("patients:detail", args=[world.practice_a.slug, noted_patient.pk])
    response = client.get(detail)

    assert response.status_code == 404
    assert NOTE not in response.content.decode()
    assert (
        client.get(reverse("accounts:practice_home", args=[world.practice_a.slug])).status_code
        == 404
    )
    alert = _alerts().get()
    assert (alert.subject, alert.practice, alert.detail["by"], alert.detail["step"]) == (
        alter_ego,
        world.practice_a,
        admin.pk,
        "granted",
    )
    # Their home page says what they wait for.
    home = client.get(reverse("accounts:home")).content.decode()
    assert "En attente de confirmation par le cabinet" in home


def test_manager_confirmation_opens_the_role(world, noted_patient):
    pending = membership_grant(
        user=UserFactory(username="new_dr"),
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        actor=Actor(user=world.users["platform_admin"]),
    )
    manager = world.client("manager_a")
    team = manager.get(reverse("accounts:team", args=[world.practice_a.slug]))
    assert "À confirmer" in team.content.decode()

    response = manager.post(
        reverse("accounts:team_confirm", args=[world.practice_a.slug, pending.pk])
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.confirmed_by, pending.confirmed_at is not None) == (
        world.users["manager_a"],
        True,
    )
    client = verified_client(pending.user)
    detail = reverse("patients:detail", args=[world.practice_a.slug, noted_patient.pk])
    assert client.get(detail).status_code == 200
    event = AuditEvent.objects.filter(action="role_change", detail__change="confirm").get()
    assert (event.actor_id, event.practice_id) == (world.users["manager_a"].pk, world.practice_a.pk)


def test_telesecretary_assignment_waits_for_the_practice(world):
    tele = world.users["telesecretary_a"]
    response = world.client("platform_admin").post(
        reverse("platform:assignment_add", args=[world.practice_b.slug]),
        {"user": tele.pk, "starts_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    practice_b_home = reverse("accounts:practice_home", args=[world.practice_b.slug])
    assert world.client("telesecretary_a").get(practice_b_home).status_code == 404
    assert _alerts().filter(subject=tele).exists()


def test_manager_refusal_removes_the_role(world):
    pending = membership_grant(
        user=UserFactory(),
        role=Role.TELESECRETARY,
        practice=world.practice_a,
        actor=Actor(user=world.users["platform_admin"]),
    )
    response = world.client("manager_a").post(
        reverse("accounts:team_refuse", args=[world.practice_a.slug, pending.pk])
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=pending.pk).exists()


def test_nobody_confirms_their_own_role_or_one_they_granted(world):
    manager = world.users["manager_a"]
    own = membership_grant(
        user=manager,
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        actor=Actor(user=world.users["platform_admin"]),
    )
    with pytest.raises(MembershipError, match="autre personne"):
        membership_confirm(membership=own, actor=Actor(user=manager))
    granted = membership_grant(
        user=UserFactory(),
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        actor=Actor(user=manager),
    )
    with pytest.raises(MembershipError, match="autre personne"):
        membership_confirm(membership=granted, actor=Actor(user=manager))


def test_a_manager_of_another_practice_cannot_confirm(world):
    other_manager = grant(UserFactory(), Role.PRACTICE_MANAGER, world.practice_b)
    pending = membership_grant(
        user=UserFactory(),
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        actor=Actor(user=world.users["platform_admin"]),
    )
    with pytest.raises(MembershipError, match="responsable du cabinet"):
        membership_confirm(membership=pending, actor=Actor(user=other_manager))


def test_another_practices_pending_role_answers_404_on_the_team_page(world):
    pending = membership_grant(
        user=UserFactory(),
        role=Role.TELESECRETARY,
        practice=world.practice_b,
        actor=Actor(user=world.users["platform_admin"]),
    )
    response = world.client("manager_a").post(
        reverse("accounts:team_confirm", args=[world.practice_a.slug, pending.pk])
    )
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.confirmed_at is None


# --- A new practice's first manager -----------------------------------------------------


@pytest.fixture
def new_practice(world) -> Practice:
    return PracticeFactory(name="Cabinet neuf", slug="cabinet-neuf", status="onboarding")


def _first_manager(world, practice) -> Membership:
    return membership_grant(
        user=UserFactory(username="first_manager"),
        role=Role.PRACTICE_MANAGER,
        practice=practice,
        actor=Actor(user=world.users["platform_admin"]),
    )


def test_first_manager_is_not_confirmed_by_the_admin_who_invited_them(world, new_practice):
    pending = _first_manager(world, new_practice)
    response = world.client("platform_admin").post(
        reverse("platform:membership_confirm", args=[new_practice.slug, pending.pk])
    )
    assert response.status_code == 400
    assert "autre personne" in response.content.decode()
    pending.refresh_from_db()
    assert pending.confirmed_at is None


def test_first_manager_is_confirmed_by_a_second_platform_admin_and_alerts(world, new_practice):
    pending = _first_manager(world, new_practice)
    second = grant(UserFactory(username="admin2"), Role.PLATFORM_ADMIN)

    response = verified_client(second).post(
        reverse("platform:membership_confirm", args=[new_practice.slug, pending.pk])
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.confirmed_by == second
    steps = set(_alerts().values_list("detail__step", flat=True))
    assert steps == {"granted", "confirmed_by_platform"}


def test_once_a_practice_has_a_manager_only_the_practice_confirms(world):
    pending = membership_grant(
        user=UserFactory(),
        role=Role.PRACTICE_MANAGER,
        practice=world.practice_a,
        actor=Actor(user=world.users["platform_admin"]),
    )
    second = grant(UserFactory(username="admin2"), Role.PLATFORM_ADMIN)
    with pytest.raises(MembershipError, match="responsable du cabinet"):
        membership_confirm(membership=pending, actor=Actor(user=second))


def test_a_platform_admin_never_confirms_a_practitioner(world, new_practice):
    pending = membership_grant(
        user=UserFactory(),
        role=Role.PRACTITIONER,
        practice=new_practice,
        actor=Actor(user=world.users["platform_admin"]),
    )
    second = grant(UserFactory(username="admin2"), Role.PLATFORM_ADMIN)
    with pytest.raises(MembershipError, match="responsable du cabinet"):
        membership_confirm(membership=pending, actor=Actor(user=second))


def test_only_a_system_task_grants_a_role_already_confirmed(world):
    with pytest.raises(MembershipError):
        membership_grant(
            user=UserFactory(),
            role=Role.PRACTITIONER,
            practice=world.practice_a,
            actor=Actor(user=world.users["platform_admin"]),
            confirmed=True,
        )
    confirmed = membership_grant(
        user=UserFactory(),
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        actor=as_actor(),
        confirmed=True,
    )
    assert confirmed.confirmed_at is not None
