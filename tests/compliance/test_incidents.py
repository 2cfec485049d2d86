"""Breach incidents: register, 72-hour countdown, practice notifications sent
once, deadline reminders, patient notices approved and sent by a practitioner."""

import csv
import html
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Practice
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
    _contact(world.practice_a)
    return world


def _contact(practice, **fields):
    values = {
        "dpo_name": "Mme Durand, déléguée à la protection des données",
        "dpo_email": "dpo@cabinet-a.example.org",
        "dpo_phone": "",
    }
    values.update(fields)
    Practice.objects.filter(pk=practice.pk).update(**values)


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
    assert rows[0][:5] == [
        "numero",
        "decouverte_le",
        "echeance_autorite",
        "autorite_notifiee_le",
        "statut",
    ]
    assert rows[1][4] == "En cours"
    assert rows[1][5] == "'=HYPERLINK(1)"
    assert rows[1][13] == "Cabinet A"
    event = AuditEvent.objects.filter(object_type="breach_incident", action="export").get()
    assert event.detail == {"count": 1}


ADVICE = "Méfiez-vous des appels ou courriels se réclamant du cabinet."


def _draft(world, **fields):
    patient = make_patient(world.practice_a)
    incident = incidents.incident_declare(
        actor=as_actor(world.users["compliance_officer"]),
        practices=[world.practice_a],
        patient_ids=[str(patient.pk)],
        detected_at=timezone.now() - timedelta(hours=3),
        **{**FIELDS, "patient_advice": ADVICE, **fields},
    )
    with every_practice():
        return incident, PatientNotification.objects.get(incident=incident)


def test_patient_notice_states_what_article_34_requires_before_approval(
    mailed, mailoutbox, django_capture_on_commit_callbacks
):
    incident, notice = _draft(mailed)
    mailoutbox.clear()
    client = mailed.client("practitioner_a")
    url = f"/p/cabinet-a/incidents/notifications/{notice.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    body = html.unescape(page.content.decode())
    for text in (
        FIELDS["nature"],  # nature
        FIELDS["likely_consequences"],  # likely consequences
        FIELDS["measures_taken"],  # measures taken
        ADVICE,  # measures proposed to the patient
        "Mme Durand, déléguée à la protection des données",  # contact point
        "dpo@cabinet-a.example.org",
        f"incident n° {incident.pk}",
        "CNIL",
    ):
        assert text in body, text
    assert "Approuver et envoyer" in body
    # The preview is recorded as a read naming the patient; nothing is sent yet.
    viewed = AuditEvent.objects.get(object_type="patient_breach_notification", action="view")
    assert viewed.detail == {"patient_ids": [str(notice.patient_id)]}
    assert not mailoutbox
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url + "envoyer/").status_code == 302
    notice.refresh_from_db()
    # What went out is what was read: nature, consequences, measures, contact.
    assert [m.to for m in mailoutbox] == [["elodie.lefevre@example.org"]]
    mail = mailoutbox[0]
    assert (
        mail.subject
        == notice.subject
        == "Violation de données personnelles vous concernant — Cabinet A"
    )
    assert mail.body == notice.body
    for text in (FIELDS["nature"], FIELDS["likely_consequences"], ADVICE, "dpo@cabinet-a"):
        assert text in mail.body
    # No name of the patient in the notice: it tells of the breach, not of the record.
    assert "LEFÈVRE" not in mail.body.upper() and "Élodie" not in mail.body


def test_sent_notice_keeps_the_text_approved_even_if_the_register_changes(mailed):
    incident, notice = _draft(mailed)
    client = mailed.client("practitioner_a")
    url = f"/p/cabinet-a/incidents/notifications/{notice.pk}/"
    client.post(url + "envoyer/")
    incidents.incident_update(
        incident=incident,
        actor=as_actor(mailed.users["compliance_officer"]),
        practices=[mailed.practice_a],
        **{**FIELDS, "nature": "Texte réécrit après l'envoi", "detected_at": incident.detected_at},
    )
    body = html.unescape(client.get(url).content.decode())
    assert FIELDS["nature"] in body and "réécrit" not in body
    assert "Approuver et envoyer" not in body


@pytest.mark.parametrize(
    ("contact", "missing"),
    [
        ({"dpo_name": ""}, "nom du contact données personnelles"),
        ({"dpo_email": "", "dpo_phone": ""}, "courriel ou un téléphone"),
    ],
)
def test_patient_notice_without_a_contact_point_is_refused(
    mailed, mailoutbox, django_capture_on_commit_callbacks, contact, missing
):
    _incident, notice = _draft(mailed)
    _contact(mailed.practice_a, **contact)
    mailoutbox.clear()
    client = mailed.client("practitioner_a")
    url = f"/p/cabinet-a/incidents/notifications/{notice.pk}/"
    page = client.get(url).content.decode()
    assert missing in page and "Approuver et envoyer" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url + "envoyer/")
    assert response.status_code == 409
    assert "Information incomplète, non envoyée" in response.content.decode()
    notice.refresh_from_db()
    assert (notice.status, notice.body, notice.sent_at) == ("draft", "", None)
    assert not AuditEvent.objects.filter(
        object_type="patient_breach_notification", action="update"
    ).exists()
    assert not mailoutbox


def test_patient_notice_with_a_phone_only_contact_can_be_sent(mailed):
    _incident, notice = _draft(mailed)
    _contact(mailed.practice_a, dpo_email="", dpo_phone="04 78 00 00 00")
    client = mailed.client("practitioner_a")
    response = client.post(f"/p/cabinet-a/incidents/notifications/{notice.pk}/envoyer/")
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == "sent" and "téléphone : 04 78 00 00 00" in notice.body


def test_authority_notice_is_prefilled_from_the_register_and_exported(mailed):
    incident, _notice = _draft(mailed)
    client = mailed.client("compliance_officer")
    url = f"/conformite/incidents/{incident.pk}/notification-autorite/"
    page = client.get(url)
    assert page.status_code == 200
    body = html.unescape(page.content.decode())
    for text in (
        "article 33",
        FIELDS["nature"],
        "Nombre approximatif de personnes concernées : 120",
        "Nombre approximatif d'enregistrements concernés : 300",
        "Cabinet A : Mme Durand",
        FIELDS["likely_consequences"],
        FIELDS["measures_taken"],
        "1 information(s) préparée(s), dont 0 envoyée(s)",
    ):
        assert text in body, text
    assert "motifs du retard" not in body
    assert client.get(url + "export/").status_code == 405
    response = client.post(url + "export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode()
    assert FIELDS["nature"] in text and "Mme Durand" in text
    event = AuditEvent.objects.get(object_type="breach_incident", action="export")
    assert event.detail == {"authority_notice": True}


def test_authority_notice_past_72_hours_asks_for_the_reasons_of_the_delay(mailed):
    late = _declare(mailed, hours_ago=80)
    client = mailed.client("compliance_officer")
    body = client.get(f"/conformite/incidents/{late.pk}/notification-autorite/").content.decode()
    assert "motifs du retard" in body
    assert "non estimé" not in body
