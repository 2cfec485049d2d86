"""The day-before reminder job's cost per appointment, in queries (issue 18):
measured over send_due_reminders for 1 then 5 due appointments, so the fixed
cost of the run (the practices, the due list) cancels out."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments import reminders
from patients import services as patient_services
from patients.models import Consent
from tests.appointments.helpers import appointment, booking_world
from tests.factories import as_actor
from tests.patients.helpers import make_patient

# Per reminder sent, in a test (the scopes nest in the test's transaction, so
# each also puts the previous practice back: +1 query per scope); docs/performance.md.
SENT_MAX = 8
SKIPPED_MAX = 5


def _due(world, setup, count: int, first: int, consent: bool) -> None:
    for n in range(first, first + count):
        patient = make_patient(world.practice_a, email=f"p{n}@example.org")
        with practice_scope(world.practice_a):
            if consent:
                patient_services.consent_record(
                    actor=as_actor(world.users["telesecretary_a"]),
                    patient=patient,
                    purpose=Consent.Purpose.EMAIL_REMINDERS,
                )
            start = timezone.now() + timedelta(hours=20, minutes=5 + 40 * n)
            appointment(
                world.practice_a,
                setup.practitioner,
                setup.private_kind,
                start,
                start + timedelta(minutes=30),
                patient=patient,
            )


def _per_appointment(world, consent: bool) -> float:
    setup = booking_world(world)
    counts = []
    for first, count in ((0, 1), (1, 5)):
        _due(world, setup, count, first, consent)
        with CaptureQueriesContext(connection) as queries:
            report = reminders.send_due_reminders()
        assert (report.sent if consent else report.skipped) == count
        counts.append(len(queries))
    return (counts[1] - counts[0]) / 4


def test_reminder_queries_per_appointment_sent_bounded(world):
    assert _per_appointment(world, consent=True) <= SENT_MAX


def test_reminder_queries_per_appointment_skipped_bounded(world):
    assert _per_appointment(world, consent=False) <= SKIPPED_MAX
