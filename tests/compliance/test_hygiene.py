"""Account hygiene: stale accounts, ended memberships, yearly charter, access review."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import AgreementAcceptance, Membership, User
from audit.models import AuditEvent
from compliance import hygiene
from compliance.models import AccessReviewDecision
from compliance.tasks import account_hygiene

REVIEW = "/conformite/revue-des-acces/"


def _age(user, *, last_login_days=None, joined_days=0):
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(
        last_login=now - timedelta(days=last_login_days) if last_login_days is not None else None,
        date_joined=now - timedelta(days=joined_days),
    )


def test_stale_accounts_are_deactivated_audited_and_logged_out(world):
    stale = world.users["telesecretary_a"]
    never = world.users["no_role"]
    fresh = world.users["practitioner_a"]
    new = world.users["manager_a"]
    client = world.client("telesecretary_a")
    _age(stale, last_login_days=91, joined_days=400)
    _age(never, last_login_days=None, joined_days=100)
    _age(fresh, last_login_days=10, joined_days=400)
    _age(new, last_login_days=None, joined_days=5)
    result = account_hygiene.apply().get()
    assert result["deactivated"] == 2
    active = dict(User.objects.values_list("username", "is_active"))
    assert (active["tele_a"], active["nobody"], active["dr_a"], active["manager_a"]) == (
        False,
        False,
        True,
        True,
    )
    events = AuditEvent.objects.filter(object_type="user", detail__reason="stale")
    assert sorted(int(e.object_id) for e in events) == sorted([stale.pk, never.pk])
    # The stale user's session is gone.
    assert client.get("/").status_code == 302
    assert account_hygiene.apply().get()["deactivated"] == 0


def test_ended_memberships_are_revoked_through_the_service(world):
    doctor = world.users["practitioner_a"]
    Membership.objects.filter(user=doctor).update(ends_on=timezone.localdate() - timedelta(days=1))
    assert doctor.has_perm("accounts.view_patient_identity", world.practice_a)
    assert hygiene.memberships_expire() == 1
    doctor = User.objects.get(pk=doctor.pk)  # fresh permission cache
    assert not doctor.has_perm("accounts.view_patient_identity", world.practice_a)
    assert not Membership.objects.filter(user=doctor).exists()
    assert AuditEvent.objects.filter(action="role_change", detail__change="revoke").count() == 1
    assert hygiene.memberships_expire() == 0
    # A membership ending today is still valid today.
    Membership.objects.filter(user=world.users["manager_a"]).update(ends_on=timezone.localdate())
    assert hygiene.memberships_expire() == 0


def test_charter_accepted_over_a_year_ago_must_be_accepted_again(world):
    client = world.client("practitioner_a")
    assert client.get("/").status_code == 200
    AgreementAcceptance.objects.filter(user=world.users["practitioner_a"]).update(
        accepted_at=timezone.now() - timedelta(days=366)
    )
    response = client.get("/")
    assert (response.status_code, response.url) == (302, "/charte/")
    client.post(response.url, {"accept": "on"})
    assert client.get("/").status_code == 200
    acceptance = AgreementAcceptance.objects.get(user=world.users["practitioner_a"])
    assert acceptance.accepted_at > timezone.now() - timedelta(minutes=1)


def test_access_review_confirm_and_revoke_are_recorded_and_audited(world):
    client = world.client("compliance_officer")
    page = client.get(REVIEW)
    assert page.status_code == 200
    assert "Démarrer une revue" in page.content.decode()
    tele = Membership.objects.get(user=world.users["telesecretary_a"])
    doctor = Membership.objects.get(user=world.users["practitioner_a"])
    # No campaign yet: nothing is decided.
    client.post(f"{REVIEW}{tele.pk}/confirm/")
    assert not AccessReviewDecision.objects.exists()
    assert client.post(f"{REVIEW}demarrer/").status_code == 302
    assert client.post(f"{REVIEW}{tele.pk}/confirm/").status_code == 302
    assert client.post(f"{REVIEW}{doctor.pk}/revoke/").status_code == 302
    decisions = dict(AccessReviewDecision.objects.values_list("membership_id", "decision"))
    assert decisions == {tele.pk: "confirm", doctor.pk: "revoke"}
    assert not Membership.objects.filter(pk=doctor.pk).exists()
    assert Membership.objects.filter(pk=tele.pk).exists()
    assert AuditEvent.objects.filter(object_type="membership", detail__decision="confirm").exists()
    assert AuditEvent.objects.filter(action="role_change", detail__change="revoke").exists()
    # Once per campaign; unknown decisions and ids refused.
    client.post(f"{REVIEW}{tele.pk}/revoke/")
    assert Membership.objects.filter(pk=tele.pk).exists()
    assert client.post(f"{REVIEW}{tele.pk}/delete/").status_code == 404
    assert client.post(f"{REVIEW}999999/confirm/").status_code == 404
    assert client.get(f"{REVIEW}{tele.pk}/confirm/").status_code == 405
    body = client.get(REVIEW).content.decode()
    assert "Confirmé" in body


def test_access_review_is_for_compliance_officers_only(world):
    for persona in ("manager_a", "platform_admin", "telesecretary_a"):
        assert world.client(persona).get(REVIEW).status_code == 403
