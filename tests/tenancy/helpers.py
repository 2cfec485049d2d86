"""Rows of every kind of practice data in two practices, made through the
services: the data a leak test needs to have something that could leak."""

from datetime import timedelta

from django.db import connection

from accounts.scoping import practice_scope
from accounts.tenancy import PRACTICE_DATA, policy_kind, tenant_models
from appointments.models import Appointment, Reminder
from appointments.services import booking, call_messages, series, waiting
from appointments.services import schedule as hours
from calendarfeed import services as feeds
from console.services import message_reply
from patients import services as patients
from patients.models import Consent, Patient
from tests.appointments.helpers import appointment_type, at, future_monday, schedule
from tests.factories import as_actor
from tests.patients.helpers import add_note, make_patient


def practice_data_models() -> list:
    return [model for model in tenant_models() if policy_kind(model) == PRACTICE_DATA]


def rows_of_every_kind(world) -> dict[str, Patient]:
    """One row (at least) of every practice-data model in practice A and in
    practice B, with the same patient name in both. Returns each practice's patient."""
    monday = future_monday()
    made = {}
    for letter, practice in (("a", world.practice_a), ("b", world.practice_b)):
        doctor = world.users[f"practitioner_{letter}"]
        secretary = as_actor(world.users["telesecretary_ab"], "telesecretary", practice)
        patient = make_patient(practice, last_name="Fuite", first_names=f"Témoin {letter}")
        add_note(patient, doctor, text=f"Note secrète {letter}")
        with practice_scope(practice):
            patients.consent_record(
                patient=patient, purpose=Consent.Purpose.SMS_REMINDERS, actor=as_actor(doctor)
            )
            patients.patient_set_restricted(
                patient=patient,
                restricted=True,
                practitioners=[doctor],
                actor=as_actor(doctor, "practitioner"),
            )
            patients.break_glass_open(
                patient=patient, reason=f"Urgence {letter}", actor=as_actor(doctor)
            )
            schedule(practice, doctor, slot_minutes=15)
            kind = appointment_type(practice)
            booked = booking.appointment_book(
                practice=practice,
                practitioner=doctor,
                patient=patient,
                appointment_type=kind,
                start=at(monday, 10),
                reason=f"Motif secret {letter}",
                actor=secretary,
            )
            series.appointment_series_book(
                practice=practice,
                practitioner=doctor,
                patient=patient,
                appointment_type=kind,
                first_start=at(monday, 11),
                every_weeks=1,
                count=2,
                reason=f"Suivi {letter}",
                actor=secretary,
            )
            hours.absence_add(
                practice=practice,
                practitioner=doctor,
                start=at(monday + timedelta(days=1), 9),
                end=at(monday + timedelta(days=1), 12),
                reason="training",
                actor=as_actor(doctor),
            )
            message = call_messages.call_message_leave(
                practice=practice,
                practitioner=doctor,
                text=f"Rappeler {letter}",
                patient=patient,
                actor=secretary,
            )
            message_reply(message=message, text=f"Réponse {letter}", actor=as_actor(doctor))
            waiting.waiting_list_add(
                practice=practice,
                patient=patient,
                appointment_type=kind,
                actor=secretary,
            )
            Reminder.objects.create(practice=practice, appointment=booked, channel="sms")
            feeds.feed_create(
                practice=practice, practitioner=doctor, show_initials=False, actor=as_actor(doctor)
            )
        made[letter] = patient
    return made


def count_rows(model, practice_id: int | None = None) -> int:
    """Rows of the model's table the current role sees, by raw SQL (no ORM, no
    django-scopes): optionally only those of one practice."""
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"SELECT count(*) FROM {table}"  # noqa: S608
    params = []
    if practice_id is not None:
        sql += " WHERE practice_id = %s"
        params = [practice_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def appointment_of(practice) -> Appointment:
    with practice_scope(practice):
        return Appointment.objects.filter(practice=practice).first()
