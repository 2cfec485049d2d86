"""No notice lost: every notification reaches its recipients in the application
(inbox, unread count in the header) and by e-mail when they have an address; a
recipient without one is flagged to the platform admins."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from audit.models import AuditEvent
from compliance import hygiene, notices
from compliance.detectors import detect_stuck_reminders
from compliance.models import AccessReviewCampaign, Notice
from onboarding import services as onboarding_services
from tests.appointments.helpers import booked, booking_world, stuck_reminder
from tests.crawl.french import leftovers
from tests.factories import UserFactory, as_actor, grant

LIST = "/notifications/"


def _notify(world, persona: str, *, role: str = "", key: str = "k", practice=None) -> Notice:
    with transaction.atomic():
        [notice] = notices.notify(
            kind=Notice.Kind.REMINDERS_STUCK,
            key=key,
            recipients=[notices.Recipient(world.users[persona], role)],
            practice=practice,
            params={"count": 3},
        )
    return notice


def _with_email(world, *personas):
    for persona in personas:
        world.users[persona].email = f"{world.users[persona].username}@example.org"
        world.users[persona].save(update_fields=["email"])


def test_inbox_shows_own_notices_with_the_unread_count_in_the_header(world):
    _with_email(world, "telesecretary_a")
    mine = _notify(world, "telesecretary_a", role=Role.TELESECRETARY, practice=world.practice_a)
    _notify(world, "telesecretary_ab", key="other", practice=world.practice_a)
    client = world.client("telesecretary_a")
    home = client.get(reverse("accounts:home")).content.decode()
    assert f'href="{LIST}"' in home and '<span class="badge"' in home and ">1</span>" in home
    page = client.get(LIST)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    body = page.content.decode()
    assert "3 rappels de rendez-vous à vérifier" in body
    assert body.count('class="card notice unread"') == 1  # not the other person's
    assert "/p/cabinet-a/rappels/a-verifier/" not in body  # opened through a POST
    event = AuditEvent.objects.filter(object_type="notice", action="list").latest("id")
    assert event.detail == {"count": 1}
    # Opening it marks it read and goes where it points.
    response = client.post(reverse("compliance:notice_open", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "appointments:reminders_to_check", args=[world.practice_a.slug]
    )
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert '<span class="badge"' not in client.get(reverse("accounts:home")).content.decode()


def test_another_persons_notice_answers_404_and_stays_unread(world):
    theirs = _notify(world, "practitioner_a")
    for persona in ("telesecretary_a", "compliance_officer", "platform_admin"):
        response = world.client(persona).post(reverse("compliance:notice_open", args=[theirs.pk]))
        assert response.status_code == 404, persona
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_only_own_visible_notices(world):
    _notify(world, "manager_a", key="a")
    _notify(world, "manager_a", key="b")
    other = _notify(world, "practitioner_a", key="c")
    response = world.client("manager_a").post(reverse("compliance:notice_read_all"))
    assert response.status_code == 302
    assert not Notice.objects.filter(recipient=world.users["manager_a"], read_at=None).exists()
    other.refresh_from_db()
    assert other.read_at is None
    event = AuditEvent.objects.filter(object_type="notice", action="update").latest("id")
    assert event.detail == {"read": 2}


def test_a_notice_to_a_role_disappears_with_the_role(world):
    notice = _notify(world, "telesecretary_ab", role=Role.TELESECRETARY, practice=world.practice_b)
    user = world.users["telesecretary_ab"]
    assert list(notices.visible_notices(user)) == [notice]
    Membership.objects.filter(user=user, practice=world.practice_b).delete()
    assert list(notices.visible_notices(user)) == []
    assert notices.unread_count(user) == 0
    response = world.client("telesecretary_ab").post(
        reverse("compliance:notice_open", args=[notice.pk])
    )
    assert response.status_code == 404


def test_a_notice_is_mailed_once_after_commit(world, django_capture_on_commit_callbacks):
    _with_email(world, "telesecretary_a")
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(world, "telesecretary_a", practice=world.practice_a)
    assert [m.to for m in mail.outbox] == [["tele_a@example.org"]]
    assert mail.outbox[0].subject == "[Secretariat] 3 rappels de rendez-vous à vérifier"
    notice.refresh_from_db()
    assert notice.mail == Notice.Mail.SENT and notice.mailed_at is not None
    assert notices.notice_mail(notice_id=notice.pk) is False
    assert notices.notices_mail_pending(now=timezone.now() + timedelta(hours=1)) == 0
    assert len(mail.outbox) == 1


def test_recording_twice_under_one_key_notifies_once(world):
    _notify(world, "manager_a")
    with transaction.atomic():
        again = notices.notify(
            kind=Notice.Kind.REMINDERS_STUCK,
            key="k",
            recipients=[notices.Recipient(world.users["manager_a"])],
        )
    assert again == []
    assert Notice.objects.filter(recipient=world.users["manager_a"]).count() == 1


def test_a_recipient_without_address_is_flagged_to_the_platform_admins_once(
    world, django_capture_on_commit_callbacks
):
    _with_email(world, "platform_admin")
    second_admin = grant(UserFactory(username="admin2"), Role.PLATFORM_ADMIN)
    with django_capture_on_commit_callbacks(execute=True):
        notice = _notify(world, "manager_a", key="first")
        _notify(world, "manager_a", key="second")
    assert notice.mail == Notice.Mail.NO_ADDRESS
    flags = Notice.objects.filter(kind=Notice.Kind.ADDRESS_MISSING)
    assert sorted(flags.values_list("recipient__username", flat=True)) == ["admin", "admin2"]
    assert {flag.params["user"] for flag in flags} == {world.users["manager_a"].pk}
    # Mailed to the admin who has an address; the other sees it in the application.
    assert [m.to for m in mail.outbox] == [["admin@example.org"]]
    assert "manager_a n'a pas d'adresse e-mail" in mail.outbox[0].subject
    page = world.client("platform_admin").get(LIST).content.decode()
    assert "Ajoutez-lui une adresse" in page
    dashboard = world.client("platform_admin").get(reverse("platform:dashboard")).content.decode()
    assert "notifications dans l'application seulement" in dashboard
    assert second_admin.pk in flags.values_list("recipient", flat=True)
    # The manager still has both notices in the application.
    assert notices.unread_count(world.users["manager_a"]) == 2


def test_stuck_reminders_notify_the_practices_telesecretaries_and_practitioners(world):
    booking_world(world)
    stuck_reminder(booked(world, hour=11))
    assert detect_stuck_reminders() == 1
    assert detect_stuck_reminders() == 1  # the same stuck claim: nothing new
    rows = Notice.objects.filter(kind=Notice.Kind.REMINDERS_STUCK, practice=world.practice_a)
    assert sorted(rows.values_list("recipient__username", "role")) == [
        ("dr_a", "practitioner"),
        ("tele_a", "telesecretary"),
        ("tele_ab", "telesecretary"),
    ]
    assert {row.params["count"] for row in rows} == {1}
    # Compliance officers are told by the alert, as before.
    assert Notice.objects.filter(
        kind=Notice.Kind.ALERT, recipient=world.users["compliance_officer"]
    ).exists()


def test_access_review_due_reminds_the_compliance_officers_weekly(world, settings):
    settings.ACCESS_REVIEW_INTERVAL_DAYS = 182
    monday = date(2026, 3, 2)
    assert hygiene.access_review_due_notify(today=monday) == 1
    assert hygiene.access_review_due_notify(today=monday + timedelta(days=3)) == 0
    assert hygiene.access_review_due_notify(today=monday + timedelta(days=7)) == 1
    campaign = hygiene.campaign_start(actor=as_actor(world.users["compliance_officer"]))
    today = timezone.localdate(campaign.started_at)
    assert hygiene.access_review_due_notify(today=today + timedelta(days=181)) == 0
    assert hygiene.access_review_due_notify(today=today + timedelta(days=182)) == 1
    [first, *_rest] = Notice.objects.filter(kind=Notice.Kind.ACCESS_REVIEW_DUE).order_by("id")
    assert first.recipient == world.users["compliance_officer"]
    assert "Aucune revue des accès" in notices.text_of(first).lines[0]


def test_review_decisions_are_notified_to_the_person_concerned(world):
    officer = as_actor(world.users["compliance_officer"])
    campaign = AccessReviewCampaign.objects.create(started_by=world.users["compliance_officer"])
    kept = Membership.objects.get(user=world.users["practitioner_a"])
    gone = Membership.objects.get(user=world.users["telesecretary_a"])
    hygiene.membership_review(campaign=campaign, membership=kept, decision="confirm", actor=officer)
    hygiene.membership_review(campaign=campaign, membership=gone, decision="revoke", actor=officer)
    confirmed = Notice.objects.get(recipient=world.users["practitioner_a"])
    revoked = Notice.objects.get(recipient=world.users["telesecretary_a"])
    assert notices.text_of(confirmed).title == "Votre rôle de Praticien (Cabinet A) est confirmé"
    assert notices.text_of(revoked).title == "Votre rôle de Télésecrétaire (Cabinet A) est retiré"
    # Addressed to the person: still visible once the role is gone.
    assert list(notices.visible_notices(world.users["telesecretary_a"])) == [revoked]


def test_an_assignment_is_notified_to_the_telesecretary(world):
    # Within the bounds of an assignment (today - 1 year .. today + 2 years).
    starts_on = timezone.localdate() + timedelta(days=7)
    onboarding_services.assignment_add(
        user=world.users["telesecretary_a"],
        practice=world.practice_b,
        starts_on=starts_on,
        ends_on=None,
        actor=as_actor(world.users["platform_admin"]),
    )
    notice = Notice.objects.get(kind=Notice.Kind.ROLE_GRANTED)
    text = notices.text_of(notice)
    assert text.title == "Nouveau rôle : Télésecrétaire (Cabinet B)"
    assert text.lines[1] == f"À partir du {starts_on:%d/%m/%Y}."
    # The practice confirms a role the provider grants (issue 12, defect 13).
    assert text.lines[2] == "Il prendra effet une fois confirmé par un responsable du cabinet."
    assert text.url == "/p/cabinet-b/"


@pytest.mark.parametrize("kind", Notice.Kind.values)
def test_every_kind_of_notice_reads_in_french(world, kind):
    """Derived from the enum: a kind added without its text fails here."""
    notice = Notice(
        kind=kind,
        recipient=world.users["practitioner_a"],
        role=Role.PRACTITIONER,
        practice=world.practice_a,
        params=SAMPLE_PARAMS.get(kind, {}),
    )
    text = notices.text_of(notice)
    assert text.title and text.lines
    assert leftovers([text.title, *text.lines]) == [], kind


SAMPLE_PARAMS = {
    Notice.Kind.ALERT: {
        "alert": 7,
        "alert_kind": "off_hours_access",
        "severity": "info",
        "detail": {"event_id": 12, "minutes": 10, "threshold": 50},
    },
    Notice.Kind.BREACH_DECLARED: {
        "incident": 3,
        "detected_at": "2026-03-02T09:30:00+00:00",
        "patient_notices": 2,
    },
    Notice.Kind.BREACH_DEADLINE: {
        "incident": 3,
        "hours": 48,
        "deadline": "2026-03-05T09:30:00+00:00",
    },
    Notice.Kind.REMINDERS_STUCK: {"count": 2},
    Notice.Kind.TRAINING_DUE: {"blocked_after": "2026-04-01"},
    Notice.Kind.ACCESS_REVIEW_DUE: {"last_started": "2025-06-01", "interval_days": 182},
    Notice.Kind.ROLE_REVIEWED: {"role": "practitioner", "decision": "confirm", "review": 1},
    Notice.Kind.ROLE_GRANTED: {"role": "telesecretary", "starts_on": "2026-03-02"},
    Notice.Kind.PURGE_PLANNED: {"due": "2026-03-09", "counts": {"call_messages": 4}},
    Notice.Kind.ADDRESS_MISSING: {"user": 4, "username": "dr.martin"},
}
