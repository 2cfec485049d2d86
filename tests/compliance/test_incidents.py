"""Breach incidents: register, 72-hour countdown, practice notifications sent
once, deadline reminders, patient notices approved and sent by a practitioner."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from compliance import incidents
from compliance.models import BreachIncident, Notice, PatientNotification
from tests.factories import as_actor
from tests.patients.helpers import make_patient
from tests.scoping import every_practice

FIELDS = {
    "nature": "Ordinateur portable volé avec export d'agenda",
    "data_categories": "Identité, rendez-vous",
    "people_categories": "Patients",
    "approx_people": 120,
    "approx_records": 300,
    "likely_consequences": "Divulgation de rendez-vous",
    "measures_taken": "Révocation des sessions, plainte",
}


@pytest.fixture
def mailed(world):
    for user in world.users.values():
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return world


def _declare(world, *, hours_ago=1, patient_ids=(), practices=None):
    return incidents.incident_declare(
        actor=as_actor(world.users["compliance_officer"]),
        practices=practices or [world.practice_a],
        patient_ids=list(patient_ids),
        detected_at=timezone.now() - timedelta(hours=hours_ago),
        **FIELDS,
    )


def _form(world, **overrides):
    data = {
        **FIELDS,
        "detected_at": (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "practices": [world.practice_a.pk],
        "patient_ids_text": "",
    }
    data.update(overrides)
    return data


def test_declaring_notifies_managers_and_practitioners_once(
    mailed, mailoutbox, django_capture_on_commit_callbacks
):
    patient = make_patient(mailed.practice_a)
    client = mailed.client("compliance_officer")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/conformite/incidents/nouveau/", _form(mailed, patient_ids_text=str(patient.pk))
        )
    assert response.status_code == 302
    incident = BreachIncident.objects.get()
    assert sorted(m.to[0] for m in mailoutbox) == ["dr_a@example.org", "manager_a@example.org"]
    notices = Notice.objects.filter(kind=Notice.Kind.BREACH_DECLARED)
    assert sorted((n.recipient.username, n.role) for n in notices) == [
        ("dr_a", "practitioner"),
        ("manager_a", "practice_manager"),
    ]
    # The practitioner is told there is a patient notice to send, and where.
    doctor = mailed.client("practitioner_a").get("/notifications/").content.decode()
    assert f"incident n° {incident.pk}" in doctor
    assert "1 information à un patient concerné est à relire" in doctor
    # Saving the incident again (no practice added) notifies nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/conformite/incidents/{incident.pk}/", _form(mailed))
    assert notices.count() == 2 and len(mailoutbox) == 2
    assert AuditEvent.objects.filter(object_type="breach_incident", action="create").exists()


def test_declaration_form_refuses_future_date_and_no_practice(mailed):
    client = mailed.client("compliance_officer")
    future = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/conformite/incidents/nouveau/", _form(mailed, detected_at=future))
    assert response.status_code == 400
    assert "futur" in response.content.decode()
    response = client.post("/conformite/incidents/nouveau/", _form(mailed, practices=[]))
    assert response.status_code == 400
    assert "au moins un cabinet" in response.content.decode()
    response = client.post(
        "/conformite/incidents/nouveau/", _form(mailed, patient_ids_text="DUPONT Jean")
    )
    assert response.status_code == 400
    assert not BreachIncident.objects.exists()


def test_countdown_is_rendered_by_the_server(mailed):
    incident = _declare(mailed, hours_ago=10)
    client = mailed.client("compliance_officer")
    body = client.get("/conformite/incidents/").content.decode()
    assert "Reste 61 h" in body or "Reste 62 h" in body
    late = _declare(mailed, hours_ago=80)
    body = client.get(f"/conformite/incidents/{late.pk}/").content.decode()
    assert "Échéance dépassée de 8 h" in body
    assert "<script" not in body
    response = client.post(f"/conformite/incidents/{incident.pk}/autorite-notifiee/")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "authority_notified" and incident.authority_notified_at


def _reminders(incident) -> list[int]:
    rows = Notice.objects.filter(kind=Notice.Kind.BREACH_DEADLINE, params__incident=incident.pk)
    return sorted(rows.values_list("params__hours", flat=True))


def test_reminders_at_48_and_66_hours_once_each(
    mailed, mailoutbox, django_capture_on_commit_callbacks
):
    incident = _declare(mailed, hours_ago=47)
    mailoutbox.clear()
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert incidents.breach_deadline_reminders(now=now) == 0
        assert incidents.breach_deadline_reminders(now=now + timedelta(hours=2)) == 1
        assert incidents.breach_deadline_reminders(now=now + timedelta(hours=3)) == 0
        assert incidents.breach_deadline_reminders(now=now + timedelta(hours=20)) == 1
    assert [m.to for m in mailoutbox] == [["dpo@example.org"], ["dpo@example.org"]]
    assert "notifier l'autorité" in mailoutbox[0].subject
    assert _reminders(incident) == [48, 66]
    other = _declare(mailed, hours_ago=60)
    incidents.incident_mark_authority_notified(actor=as_actor(), incident=other)
    assert incidents.breach_deadline_reminders(now=now + timedelta(hours=20)) == 0


def test_an_incident_declared_late_reminds_once_not_twice_at_once(mailed):
    """Declared 67 h after its discovery: the 48 h and 66 h thresholds are both
    past; only the latest reminds."""
    incident = _declare(mailed, hours_ago=67)
    assert incidents.breach_deadline_reminders() == 1
    assert incidents.breach_deadline_reminders() == 0
    assert _reminders(incident) == [66]
    # Declared at 50 h: the 48 h reminder now, the 66 h one when its time comes.
    later = _declare(mailed, hours_ago=50)
    assert incidents.breach_deadline_reminders() == 1
    assert _reminders(later) == [48]
    assert incidents.breach_deadline_reminders(now=timezone.now() + timedelta(hours=17)) == 1
    assert _reminders(later) == [48, 66]


def test_patient_notices_are_drafted_for_known_patients_of_affected_practices(mailed):
    mine = make_patient(mailed.practice_a)
    foreign = make_patient(mailed.practice_b)
    incident = _declare(mailed, patient_ids=[str(mine.pk), str(foreign.pk), "not-a-uuid"])
    with every_practice():
        notices = list(PatientNotification.objects.filter(incident=incident))
    assert [(n.patient_id, n.status) for n in notices] == [(mine.pk, "draft")]
    assert incident.patient_ids == [str(mine.pk)]


def test_practitioner_approves_and_sends_a_patient_notice_once(
    mailed, mailoutbox, django_capture_on_commit_callbacks
):
    patient = make_patient(mailed.practice_a)
    _declare(mailed, patient_ids=[str(patient.pk)])
    mailoutbox.clear()
    with every_practice():
        notice = PatientNotification.objects.get()
    client = mailed.client("practitioner_a")
    page = client.get("/p/cabinet-a/incidents/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    assert "LEFÈVRE" in page.content.decode()
    url = f"/p/cabinet-a/incidents/notifications/{notice.pk}/envoyer/"
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
        client.post(url)
    notice.refresh_from_db()
    assert (notice.status, notice.emailed, notice.approved_by) == (
        "sent",
        True,
        mailed.users["practitioner_a"],
    )
    assert [m.to for m in mailoutbox] == [["elodie.lefevre@example.org"]]
    assert "Cabinet A" in mailoutbox[0].body
    events = AuditEvent.objects.filter(object_type="patient_breach_notification", action="update")
    assert events.count() == 1


def test_patient_notice_of_another_practice_is_404(mailed):
    patient = make_patient(mailed.practice_b)
    _declare(mailed, practices=[mailed.practice_b], patient_ids=[str(patient.pk)])
    with every_practice():
        notice = PatientNotification.objects.get()
    client = mailed.client("practitioner_a")
    url = f"/p/cabinet-a/incidents/notifications/{notice.pk}/envoyer/"
    assert client.post(url).status_code == 404
    notice.refresh_from_db()
    assert notice.status == "draft"


def test_telesecretaries_never_see_the_register_or_notices(mailed):
    incident = _declare(mailed)
    client = mailed.client("telesecretary_a")
    for url in ("/conformite/incidents/", f"/conformite/incidents/{incident.pk}/"):
        assert client.get(url).status_code == 403
    assert client.get("/p/cabinet-a/incidents/").status_code == 403


def test_csv_export_is_audited_and_neutralises_formulas(mailed):
    incidents.incident_declare(
        actor=as_actor(mailed.users["compliance_officer"]),
        practices=[mailed.practice_a],
        detected_at=timezone.now(),
        **{**FIELDS, "nature": "=HYPERLINK(1)"},
    )
    client = mailed.client("compliance_officer")
    assert client.get("/conformite/incidents/export/").status_code == 405
    response = client.post("/conformite/incidents/export/")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][5] == "'=HYPERLINK(1)"
    assert rows[1][12] == "cabinet-a"
    event = AuditEvent.objects.filter(object_type="breach_incident", action="export").get()
    assert event.detail == {"count": 1}
