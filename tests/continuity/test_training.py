"""Training records: overdue staff listed, reminded, and blocked from practice pages."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from compliance import notices
from compliance.models import Notice
from continuity import services, training
from continuity.models import TrainingSession
from tests.factories import as_actor
from tests.faults.helpers import closed_port

PRACTICE_HOME = "/p/cabinet-a/"


def _joined_long_ago(user, days: int = 400):
    user.date_joined = timezone.now() - timedelta(days=days)
    user.save(update_fields=["date_joined"])
    return user


def _session(user, days_ago: int, recorder):
    return services.training_session_record(
        actor=as_actor(recorder),
        day=timezone.localdate() - timedelta(days=days_ago),
        topic="Confidentialité",
        attendees=[user],
    )


@pytest.mark.django_db
def test_overdue_training_blocks_practice_page_until_training_recorded(world):
    user = _joined_long_ago(world.users["telesecretary_a"])
    client = world.client("telesecretary_a")
    response = client.get(PRACTICE_HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("continuity:training_required")
    page = client.get(response["Location"])
    assert "formation" in page.content.decode().lower()
    assert AuditEvent.objects.filter(
        actor=user, action="permission_denied", detail__reason="training_overdue"
    ).exists()
    # Pages outside practices stay reachable.
    assert client.get(reverse("accounts:home")).status_code == 200

    officer = world.client("compliance_officer")
    response = officer.post(
        reverse("continuity:training_record"),
        {"date": timezone.localdate().isoformat(), "topic": "RGPD", "attendees": [user.pk]},
    )
    assert response.status_code == 302
    assert client.get(PRACTICE_HOME).status_code == 200


@pytest.mark.django_db
def test_overdue_within_grace_period_is_listed_but_not_blocked(world):
    user = _joined_long_ago(world.users["telesecretary_a"])
    _session(user, days_ago=370, recorder=world.users["compliance_officer"])
    status = training.training_status(user)
    assert status.overdue and not status.blocked
    assert world.client("telesecretary_a").get(PRACTICE_HOME).status_code == 200
    page = world.client("compliance_officer").get(reverse("continuity:training"))
    assert page.status_code == 200
    overdue_names = [s.user.username for s in page.context["overdue"]]
    assert overdue_names == ["tele_a"]


@pytest.mark.django_db
def test_last_training_date_is_the_latest_session_attended(world):
    user = world.users["practitioner_a"]
    recorder = world.users["compliance_officer"]
    _session(user, days_ago=100, recorder=recorder)
    _session(user, days_ago=10, recorder=recorder)
    _session(world.users["practitioner_b"], days_ago=1, recorder=recorder)
    assert training.training_status(user).last_trained == timezone.localdate() - timedelta(days=10)


@pytest.mark.django_db
def test_training_validity_setting_changes_who_is_overdue(world, settings):
    user = world.users["manager_a"]
    _session(user, days_ago=40, recorder=world.users["compliance_officer"])
    assert not training.training_status(user).overdue
    settings.TRAINING_VALIDITY_DAYS = 30
    assert training.training_status(user).overdue


@pytest.mark.django_db
def test_record_session_in_the_future_refused_with_nothing_written(world):
    response = world.client("compliance_officer").post(
        reverse("continuity:training_record"),
        {
            "date": (timezone.localdate() + timedelta(days=3)).isoformat(),
            "topic": "RGPD",
            "attendees": [world.users["telesecretary_a"].pk],
        },
    )
    assert response.status_code == 400
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_record_session_refuses_a_user_without_role(world):
    response = world.client("compliance_officer").post(
        reverse("continuity:training_record"),
        {
            "date": timezone.localdate().isoformat(),
            "topic": "RGPD",
            "attendees": [world.users["no_role"].pk],
        },
    )
    assert response.status_code == 400
    assert not TrainingSession.objects.exists()


@pytest.mark.django_db
def test_record_session_audited_with_attendee_ids(world):
    attendee = world.users["telesecretary_a"]
    world.client("compliance_officer").post(
        reverse("continuity:training_record"),
        {"date": timezone.localdate().isoformat(), "topic": "RGPD", "attendees": [attendee.pk]},
    )
    session = TrainingSession.objects.get()
    event = AuditEvent.objects.get(action="create", object_type="training_session")
    assert event.object_id == str(session.pk)
    assert event.detail == {"attendees": [attendee.pk]}
    assert session.recorded_by == world.users["compliance_officer"]


@pytest.mark.django_db
def test_reminders_sent_to_overdue_users_once_a_week(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = _joined_long_ago(world.users["telesecretary_a"])
    user.email = "tele@example.org"
    user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.training_reminders_send() == 1
        assert services.training_reminders_send() == 0
    assert [m.to for m in mail.outbox] == [["tele@example.org"]]
    assert "formation" in mail.outbox[0].body.lower()
    # And in the application, where it waits unread.
    [notice] = Notice.objects.filter(recipient=user)
    assert (notice.kind, notice.read_at) == (Notice.Kind.TRAINING_DUE, None)


@pytest.mark.django_db
def test_a_refused_mail_does_not_lose_the_weeks_reminder(
    world, settings, django_capture_on_commit_callbacks
):
    """Before, the week was claimed and then the mail sent: an SMTP failure left
    the claim, and the week's reminder was never sent."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    user = _joined_long_ago(world.users["telesecretary_a"])
    user.email = "tele@example.org"
    user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.training_reminders_send() == 1  # the mail task fails in process
    notice = Notice.objects.get(recipient=user)
    assert notice.mail == Notice.Mail.PENDING
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = timezone.now() + timedelta(minutes=10)
    assert notices.notices_mail_pending(now=later) == 1
    assert [m.to for m in mail.outbox] == [["tele@example.org"]]
    notice.refresh_from_db()
    assert notice.mail == Notice.Mail.SENT


@pytest.mark.django_db
def test_tracking_start_gives_older_accounts_a_grace_period(world, settings):
    user = _joined_long_ago(world.users["telesecretary_a"])
    assert training.training_status(user).blocked
    settings.TRAINING_TRACKING_START = timezone.localdate() - timedelta(days=10)
    status = training.training_status(user)
    assert status.overdue and not status.blocked


@pytest.mark.django_db
def test_gate_caches_good_standing_so_practice_pages_cost_no_training_query(world):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()
    client = world.client("practitioner_a")
    assert client.get(PRACTICE_HOME).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PRACTICE_HOME).status_code == 200
    assert not any("continuity_trainingsession" in q["sql"] for q in queries.captured_queries)
