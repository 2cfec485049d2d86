"""A committed action never answers an error because the broker or the mail
server is down, and its follow-up work is done, once, when they are back
(issue 12, defect 5; the transactional outbox, outbox/services.py)."""

from datetime import timedelta

import pytest
from celery.signals import task_retry
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from compliance.models import BreachIncident, Notice
from outbox.models import OutboxTask
from outbox.services import relay_due
from tests.faults.helpers import Signalled, broker_down, closed_port, wait_for
from tests.faults.helpers import worker as real_worker

pytestmark = [
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a Redis broker"),
]

RECIPIENTS = ["dr_a@example.org", "manager_a@example.org"]


@pytest.fixture
def mailed(world):
    for user in world.users.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return world


def _declare(world):
    form = {
        "detected_at": (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "nature": "Ordinateur portable volé",
        "data_categories": "Identité, rendez-vous",
        "people_categories": "Patients",
        "approx_people": 12,
        "approx_records": 30,
        "likely_consequences": "Divulgation de rendez-vous",
        "measures_taken": "Révocation des sessions",
        "practices": [world.practice_a.pk],
        "patient_ids_text": "",
    }
    return world.client("compliance_officer").post(reverse("compliance:incident_create"), form)


def _sent() -> list[str]:
    sent = Notice.objects.filter(mail=Notice.Mail.SENT)
    return sorted(sent.values_list("recipient__email", flat=True))


def test_breach_declared_while_the_broker_is_down_is_answered_and_notified_later(
    mailed, mailoutbox
):
    with broker_down():
        response = _declare(mailed)
    incident = BreachIncident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("compliance:incident_detail", args=[incident.pk])
    # The practices are told in the application at once; their mails wait.
    notices = Notice.objects.filter(kind=Notice.Kind.BREACH_DECLARED)
    assert sorted(notices.values_list("recipient__email", flat=True)) == RECIPIENTS
    pending = list(OutboxTask.objects.order_by("id"))
    assert [(row.task, row.kwargs) for row in pending] == [
        ("compliance.tasks.notice_mail", {"notice_id": notice.pk})
        for notice in notices.order_by("id")
    ]
    assert {(row.attempts, row.last_error) for row in pending} == {(1, "OperationalError")}
    assert mailoutbox == []

    # The broker is back; a minute later beat's sweep hands the task to a worker.
    OutboxTask.objects.update(available_at=timezone.now())
    with real_worker():
        assert relay_due() == len(RECIPIENTS)
        wait_for(lambda: len(_sent()) == len(RECIPIENTS), what="the practices' notifications")
    assert sorted(message.to[0] for message in mailoutbox) == RECIPIENTS
    assert not OutboxTask.objects.exists()


def test_breach_notification_while_the_mail_server_is_down_is_sent_once_it_is_back(
    mailed, mailoutbox, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    with real_worker(), Signalled(task_retry) as retried:
        response = _declare(mailed)
        assert response.status_code == 302
        assert retried.fired.wait(30), "the refused mail is retried"
        assert _sent() == []
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        wait_for(lambda: len(_sent()) == len(RECIPIENTS), what="the retried notifications")
    assert sorted(message.to[0] for message in mailoutbox) == RECIPIENTS
    assert Notice.objects.count() == len(RECIPIENTS)
    assert not OutboxTask.objects.exists()
