"""Retention policies (bounds, pages, audit) and the purge (exact, batched,
resumable, idempotent, dry run)."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from appointments.models import Appointment, AppointmentEvent, CallMessage, Reminder
from audit.models import AuditEvent
from compliance import retention, services
from compliance.models import RetentionPolicy
from tests.compliance.helpers import aged_rows, announced_long_ago
from tests.factories import as_actor
from tests.scoping import every_practice

NOTHING = {str(kind): 0 for kind in retention.PURGED_KINDS}


def _remaining(model, ids):
    with every_practice():
        return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True))


@pytest.fixture
def rows(world):
    # Practice A: defaults (365 / 90 / 90 days); practice B: 3 years for appointments.
    a = aged_rows(world, "a", ages_days=[400, 200, 60, 5])
    b = aged_rows(world, "b", ages_days=[400, 200])
    announced_long_ago(world.practice_a, world.practice_b)
    services.retention_policy_set(
        actor=as_actor(world.users["compliance_officer"]),
        practice=world.practice_b,
        kind="appointments",
        days=1095,
    )
    return a, b


def test_purge_removes_exactly_what_has_expired(world, rows):
    a, b = rows
    counts = retention.purge_all()
    assert counts[world.practice_a.pk] == {
        **NOTHING,
        "appointments": 1,
        "call_messages": 2,
        "reminders": 2,
    }
    # Appointment cascades take their reminders and events along.
    assert _remaining(Appointment, a["appointments"]) == set(a["appointments"][1:])
    assert _remaining(CallMessage, a["call_messages"]) == set(a["call_messages"][2:])
    assert _remaining(Reminder, a["reminders"]) == set(a["reminders"][2:])
    # Practice B keeps its appointments (3 years) but not its old messages.
    assert _remaining(Appointment, b["appointments"]) == set(b["appointments"])
    assert _remaining(CallMessage, b["call_messages"]) == set()
    events = AuditEvent.objects.filter(action="purge", practice=world.practice_a)
    assert sorted((e.object_type, e.detail["count"]) for e in events) == [
        ("appointments", 1),
        ("call_messages", 2),
        ("reminders", 2),
    ]


def test_purge_in_batches_is_idempotent(world, rows):
    a, _b = rows
    counts = retention.purge_practice(world.practice_a, batch=1)
    assert counts == {**NOTHING, "appointments": 1, "call_messages": 2, "reminders": 2}
    # One audit event per batch, each with its own count.
    events = AuditEvent.objects.filter(action="purge", object_type="call_messages")
    assert [e.detail["count"] for e in events] == [1, 1]
    assert retention.purge_practice(world.practice_a, batch=1) == NOTHING
    with every_practice():
        assert not AppointmentEvent.objects.filter(appointment_id=a["appointments"][0]).exists()


def test_dry_run_counts_and_deletes_nothing(world, rows):
    a, _b = rows
    out = io.StringIO()
    call_command("purge_expired", "--dry-run", stdout=out)
    assert "cabinet-a  reminders=2  call_messages=2  waiting_list=0" in out.getvalue()
    assert "clinical_notes=0  appointments=1  inactive_patients=0" in out.getvalue()
    assert "5 + " not in out.getvalue()
    assert _remaining(Appointment, a["appointments"]) == set(a["appointments"])
    assert not AuditEvent.objects.filter(action="purge").exists()
    call_command("purge_expired", stdout=io.StringIO())
    assert _remaining(Appointment, a["appointments"]) == set(a["appointments"][1:])


def test_policy_outside_bounds_is_refused(world):
    with pytest.raises(ValidationError, match="entre 30 et 1825 jours"):
        services.retention_policy_set(
            actor=as_actor(), practice=world.practice_a, kind="appointments", days=10
        )
    with every_practice():
        assert not RetentionPolicy.objects.exists()


def _post(days):
    return {
        **{str(kind): rule.default_days for kind, rule in retention.RULES.items()},
        "appointments": days,
    }


def test_manager_sets_policies_on_the_practice_page(world):
    client = world.client("manager_a")
    url = "/p/cabinet-a/conservation/"
    page = client.get(url)
    assert page.status_code == 200
    assert "CNIL" in page.content.decode()
    assert client.post(url, _post(730)).status_code == 302
    assert retention.policy_days(world.practice_a, "appointments") == 730
    event = AuditEvent.objects.filter(object_type="retention_policy", action="update").get()
    assert event.detail == {"kind": "appointments", "days": 730, "previous": None}
    assert event.practice_id == world.practice_a.pk
    # Unchanged values are not audited again.
    client.post(url, _post(730))
    assert AuditEvent.objects.filter(object_type="retention_policy", action="update").count() == 1


@pytest.mark.parametrize("days", ["5", "99999", "abc", ""])
def test_out_of_bounds_or_invalid_is_a_400_in_french(world, days):
    client = world.client("manager_a")
    response = client.post("/p/cabinet-a/conservation/", _post(days))
    assert response.status_code == 400
    body = response.content.decode()
    assert any(word in body for word in ("Durée trop", "nombre entier", "Indiquez une durée"))
    with every_practice():
        assert not RetentionPolicy.objects.exists()


def test_compliance_officer_sets_and_sees_the_dry_run(world, rows):
    client = world.client("compliance_officer")
    page = client.get("/conformite/conservation/cabinet-a/")
    assert page.status_code == 200
    assert 'class="count-call_messages">2<' in page.content.decode()
    assert client.post("/conformite/conservation/cabinet-b/", _post(60)).status_code == 302
    assert retention.policy_days(world.practice_b, "appointments") == 60
    assert client.get("/conformite/conservation/nope/").status_code == 404


def test_practice_page_of_another_practice_is_404(world):
    assert world.client("manager_a").get("/p/cabinet-b/conservation/").status_code == 404
    assert world.client("practitioner_a").get("/p/cabinet-a/conservation/").status_code == 403


def test_purged_appointment_takes_its_history_and_recent_reminders(world, rows):
    a, _b = rows
    old = a["appointments"][0]
    with every_practice():
        AppointmentEvent.objects.create(
            practice=world.practice_a, appointment_id=old, kind="created", detail={}
        )
        Reminder.objects.create(
            practice=world.practice_a, appointment_id=old, kind="late", channel="sms"
        )
    retention.purge_practice(world.practice_a)
    with every_practice():
        assert not AppointmentEvent.objects.filter(appointment_id=old).exists()
        assert not Reminder.objects.filter(appointment_id=old).exists()
        assert not Appointment.objects.filter(pk=old).exists()
