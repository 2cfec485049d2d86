"""The one alert inbox: raising is idempotent, notifies the compliance officers
once (in the application, and mailed after commit), acknowledging needs a
comment and is audited; break-glass and task failures raise."""

from datetime import timedelta

import pytest
from celery import shared_task
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from compliance import notices, services
from compliance.detectors import detect_suspicious_activity
from compliance.models import Alert, Notice
from patients import services as patient_services
from tests.factories import as_actor
from tests.patients.helpers import make_patient

LIST = "/conformite/alertes/"


@pytest.fixture
def officer(world):
    user = world.users["compliance_officer"]
    user.email = "dpo@example.org"
    user.save(update_fields=["email"])
    return world.client("compliance_officer")


def _raise(fingerprint="f1", **kwargs) -> Alert:
    return services.alert_raise(
        kind=kwargs.pop("kind", Alert.Kind.BACKUP_MISSING),
        fingerprint=fingerprint,
        detail=kwargs.pop("detail", {"latest": None}),
        **kwargs,
    )


def test_alert_raise_twice_records_one_alert_and_mails_once(
    officer, world, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = _raise()
        second = _raise()
    with django_capture_on_commit_callbacks(execute=True):
        _raise()
    assert first.pk == second.pk
    assert Alert.objects.count() == 1
    assert [m.to for m in mailoutbox] == [["dpo@example.org"]]
    assert "Aucune sauvegarde récente" in mailoutbox[0].subject
    [notice] = Notice.objects.all()
    assert (notice.recipient, notice.kind, notice.mail) == (
        world.users["compliance_officer"],
        Notice.Kind.ALERT,
        Notice.Mail.SENT,
    )
    first.refresh_from_db()
    assert first.notified_at is not None
    assert first.severity == Alert.Severity.CRITICAL


def test_alert_raise_mails_nothing_when_the_transaction_rolls_back(
    officer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                _raise()
                raise RuntimeError("the change failed")
        except RuntimeError:
            pass
    assert not Alert.objects.exists()
    assert not Notice.objects.exists()
    assert mailoutbox == []


def test_alert_mail_task_twice_mails_once(officer, mailoutbox):
    _raise()  # on_commit not run: recorded, not yet mailed
    notice = Notice.objects.get()
    assert notices.notice_mail(notice_id=notice.pk) is True
    assert notices.notice_mail(notice_id=notice.pk) is False
    assert len(mailoutbox) == 1


def test_alert_raise_refuses_free_text_in_detail(world):
    with pytest.raises(TypeError):
        _raise(detail={"note": "x" * 200})
    assert not Alert.objects.exists()


def test_inactive_compliance_officer_is_not_notified(
    officer, world, mailoutbox, django_capture_on_commit_callbacks
):
    world.users["compliance_officer"].is_active = False
    world.users["compliance_officer"].save(update_fields=["is_active"])
    with django_capture_on_commit_callbacks(execute=True):
        _raise()
    assert mailoutbox == []
    assert not Notice.objects.exists()


def test_inbox_lists_open_alerts_first_and_records_the_read(officer, world):
    done = _raise("done")
    services.alert_acknowledge(
        actor=as_actor(world.users["compliance_officer"]), alert=done, comment="vu"
    )
    open_ = _raise("open", kind=Alert.Kind.CHAIN_BROKEN, detail={"chain": "platform"})
    response = officer.get(LIST)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert body.index(f"n° {open_.pk}") < body.index(f"n° {done.pk}")
    assert reverse("compliance:alert_acknowledge", args=[open_.pk]) in body
    latest = AuditEvent.objects.latest("id")
    assert (latest.action, latest.object_type, latest.detail) == (
        "list",
        "compliance_alert",
        {"count": 2},
    )


def test_acknowledging_records_who_when_and_why_once(officer, world):
    alert = _raise()
    url = reverse("compliance:alert_acknowledge", args=[alert.pk])
    response = officer.post(url, {f"a{alert.pk}-comment": "Sauvegarde relancée, vérifiée."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == world.users["compliance_officer"]
    assert alert.acknowledged_at is not None
    assert alert.comment == "Sauvegarde relancée, vérifiée."
    event = AuditEvent.objects.filter(object_type="compliance_alert", action="update").get()
    assert event.object_id == str(alert.pk)
    officer.post(url, {f"a{alert.pk}-comment": "autre"})
    alert.refresh_from_db()
    assert alert.comment == "Sauvegarde relancée, vérifiée."
    assert AuditEvent.objects.filter(object_type="compliance_alert", action="update").count() == 1
    assert "Acquittée par dpo" in officer.get(LIST).content.decode()


@pytest.mark.parametrize("comment", ["", "   "])
def test_acknowledging_without_a_comment_is_refused_in_french(officer, comment):
    alert = _raise()
    url = reverse("compliance:alert_acknowledge", args=[alert.pk])
    response = officer.post(url, {f"a{alert.pk}-comment": comment})
    assert response.status_code == 400
    assert "Un commentaire est obligatoire" in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_acknowledging_by_get_or_unknown_id_is_refused(officer):
    alert = _raise()
    assert officer.get(reverse("compliance:alert_acknowledge", args=[alert.pk])).status_code == 405
    url = reverse("compliance:alert_acknowledge", args=[alert.pk + 1000])
    assert officer.post(url, {f"a{alert.pk + 1000}-comment": "x"}).status_code == 404


def test_practice_roles_cannot_see_the_inbox(world):
    _raise()
    for persona in ("practitioner_a", "manager_a", "telesecretary_a", "platform_admin"):
        assert world.client(persona).get(LIST).status_code == 403, persona


def test_home_page_links_the_inbox_for_compliance_officers(officer, world):
    assert f'href="{LIST}"' in officer.get(reverse("accounts:home")).content.decode()
    body = world.client("practitioner_a").get(reverse("accounts:home")).content.decode()
    assert f'href="{LIST}"' not in body


def test_break_glass_raises_an_alert_naming_the_user_and_practice(
    world, officer, mailoutbox, django_capture_on_commit_callbacks
):
    patient = make_patient(world.practice_a)
    doctor = world.users["practitioner_a"]
    with practice_scope(world.practice_a):
        grant = patient_services.break_glass_open(
            patient=patient, reason="Patient inconscient, SAMU", actor=as_actor(doctor)
        )
    # Raised by the next detection pass over the audit trail (patients does not
    # import compliance), not by the service.
    assert not Alert.objects.filter(kind=Alert.Kind.BREAK_GLASS).exists()
    with django_capture_on_commit_callbacks(execute=True):
        detect_suspicious_activity(now=timezone.now() + timedelta(minutes=2))
        detect_suspicious_activity(now=timezone.now() + timedelta(minutes=4))
    alert = Alert.objects.get(kind=Alert.Kind.BREAK_GLASS)
    assert (alert.practice, alert.subject) == (world.practice_a, doctor)
    assert alert.detail == {"grant": str(grant.pk), "patient": str(patient.pk)}
    # At night or on a Sunday the access is also off hours, a second alert with
    # its own mail: the break-glass one is sent once, though detection ran twice.
    about = [mail for mail in mailoutbox if str(Alert.Kind.BREAK_GLASS.label) in mail.subject]
    assert len(about) == 1
    assert all("SAMU" not in mail.body and "Lefèvre" not in mail.body for mail in mailoutbox)


@shared_task(name="tests.compliance.always_fails")
def _always_fails():
    raise ValueError("données sensibles 06 12 34 56 78")


def test_a_failed_task_raises_a_task_failure_alert_without_its_message(world):
    result = _always_fails.apply(throw=False)
    assert result.failed()
    alert = Alert.objects.get(kind=Alert.Kind.TASK_FAILURE)
    assert alert.detail == {"task": "tests.compliance.always_fails", "error": "ValueError"}
    assert alert.fingerprint == f"task_failure:{result.id}"


def test_every_task_is_acks_late_and_retried_with_backoff():
    from secretariat.celery import app

    app.loader.import_default_modules()
    ours = [task for name, task in app.tasks.items() if not name.startswith("celery.")]
    ours = [task for task in ours if not task.name.startswith("tests.")]
    assert len(ours) >= 15
    for task in ours:
        assert task.acks_late, task.name
        assert task.autoretry_for and task.retry_backoff, task.name
