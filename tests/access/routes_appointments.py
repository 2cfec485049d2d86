from accounts.scoping import practice_scope
from tests.access.routes import Route, practice_a
from tests.appointments.helpers import at, booked, booking_world, stuck_reminder
from tests.factories import as_actor
from tests.patients.helpers import make_patient

BOOKERS = frozenset({"telesecretary_a", "telesecretary_ab", "practitioner_a"})
AGENDA_READERS = BOOKERS | {"manager_a"}
OWN_AGENDA = frozenset({"practitioner_a"})


def _patient(world) -> dict:
    return {**practice_a(world), "patient": booking_world(world).patient.pk}


def _foreign_patient(world) -> dict:
    booking_world(world)
    return {**practice_a(world), "patient": make_patient(world.practice_b).pk}


def _slot_page(world) -> dict:
    setup = booking_world(world)
    return {**_patient(world), "appointment_type": setup.kind.pk}


def _foreign_slot_page(world) -> dict:
    setup = booking_world(world)
    return {**_foreign_patient(world), "appointment_type": setup.kind.pk}


def _slot(world, hour: int) -> dict:
    setup = booking_world(world)
    return {"slot": f"{setup.practitioner.pk}|{at(setup.monday, hour).isoformat()}"}


def _appointment(world) -> dict:
    if "appointment" not in world.objects:
        world.objects["appointment"] = booked(world, hour=10)
    return {**practice_a(world), "appointment": world.objects["appointment"].pk}


def _appointment_today(world) -> dict:
    """An appointment starting within the hour (written directly: the booking
    service would want working hours at this time of day)."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.appointments.helpers import appointment

    if "today" not in world.objects:
        setup = booking_world(world)
        start = timezone.now().replace(second=0, microsecond=0)
        with practice_scope(world.practice_a):
            world.objects["today"] = appointment(
                world.practice_a,
                setup.practitioner,
                setup.kind,
                start,
                start + timedelta(minutes=30),
                patient=setup.patient,
            )
    return {**practice_a(world), "appointment": world.objects["today"].pk}


def _foreign_appointment(world) -> dict:
    return {**practice_a(world), "appointment": booking_world(world).foreign.pk}


def _stuck_reminder(world) -> dict:
    if "stuck_reminder" not in world.objects:
        world.objects["stuck_reminder"] = stuck_reminder(booked(world, hour=11))
    return {**practice_a(world), "reminder": world.objects["stuck_reminder"].pk}


def _practice_with_a_stuck_reminder(world) -> dict:
    _stuck_reminder(world)
    return practice_a(world)


def _foreign_stuck_reminder(world) -> dict:
    if "foreign_stuck_reminder" not in world.objects:
        world.objects["foreign_stuck_reminder"] = stuck_reminder(booking_world(world).foreign)
    return {**practice_a(world), "reminder": world.objects["foreign_stuck_reminder"].pk}


ROUTES = [
    Route("appointments:book", kwargs=practice_a, allowed=BOOKERS, audit_action="view"),
    Route(
        "appointments:book",
        kwargs=practice_a,
        method="post",
        data=lambda world: {"q": "Lefèvre"},
        allowed=BOOKERS,
        audit_action="search",
    ),
    Route(
        "appointments:book_type",
        kwargs=_patient,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_patient,
    ),
    Route(
        "appointments:book_slot",
        kwargs=_slot_page,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_slot_page,
    ),
    Route(
        "appointments:book_slot",
        kwargs=_slot_page,
        method="post",
        data=lambda world: {**_slot(world, 11), "reason": "Fièvre"},
        allowed=BOOKERS,
        ok_status=302,
        audit_action="create",
        foreign=_foreign_slot_page,
    ),
    Route(
        "appointments:detail",
        kwargs=_appointment,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_appointment,
    ),
    Route(
        "appointments:move",
        kwargs=_appointment,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_appointment,
    ),
    Route(
        "appointments:move",
        kwargs=_appointment,
        method="post",
        data=lambda world: _slot(world, 15),
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_appointment,
    ),
    Route(
        "appointments:cancel",
        kwargs=_appointment,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_appointment,
    ),
    Route(
        "appointments:cancel",
        kwargs=_appointment,
        method="post",
        data=lambda world: {"category": "patient"},
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_appointment,
    ),
    Route(
        "appointments:status",
        kwargs=_appointment_today,
        method="post",
        data=lambda world: {"status": "arrived"},
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_appointment,
    ),
    Route("appointments:my_day", kwargs=practice_a, allowed=OWN_AGENDA, audit_action="list"),
    Route("appointments:my_week", kwargs=practice_a, allowed=OWN_AGENDA, audit_action="list"),
    Route(
        "appointments:practice_day",
        kwargs=practice_a,
        allowed=AGENDA_READERS,
        audit_action="list",
    ),
]

TELESECRETARIES = frozenset({"telesecretary_a", "telesecretary_ab"})


def _message(world) -> dict:
    from appointments.services.call_messages import call_message_leave
    from tests.appointments.helpers import booking_world

    if "message" not in world.objects:
        setup = booking_world(world)
        with practice_scope(world.practice_a):
            world.objects["message"] = call_message_leave(
                actor=as_actor(world.users["telesecretary_a"]),
                practice=setup.practice,
                practitioner=setup.practitioner,
                text="Rappeler Mme Lefèvre pour ses résultats",
                patient=setup.patient,
            )
    return {**practice_a(world), "message": world.objects["message"].pk}


def _foreign_message(world) -> dict:
    from appointments.services.call_messages import call_message_leave

    setup = booking_world(world)
    with practice_scope(world.practice_b):
        message = call_message_leave(
            actor=as_actor(world.users["telesecretary_ab"]),
            practice=world.practice_b,
            practitioner=world.users["practitioner_b"],
            text="Message du cabinet B",
        )
    assert setup
    return {**practice_a(world), "message": message.pk}


ROUTES += [
    Route(
        "appointments:message_new",
        kwargs=practice_a,
        allowed=TELESECRETARIES,
        audit_action="view",
    ),
    Route(
        "appointments:message_new",
        kwargs=practice_a,
        method="post",
        data=lambda world: {
            "practitioner": booking_world(world).practitioner.pk,
            "text": "Le patient demande un rappel",
            "patient": str(booking_world(world).patient.pk),
        },
        allowed=TELESECRETARIES,
        ok_status=302,
        audit_action="create",
    ),
    Route("appointments:inbox", kwargs=practice_a, allowed=OWN_AGENDA, audit_action="list"),
    Route(
        "appointments:message_handle",
        kwargs=_message,
        method="post",
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_message,
    ),
]


def _waiting_entry(world) -> dict:
    from appointments.services.waiting import waiting_list_add

    if "waiting" not in world.objects:
        setup = booking_world(world)
        with practice_scope(world.practice_a):
            world.objects["waiting"] = waiting_list_add(
                actor=as_actor(),
                practice=setup.practice,
                patient=setup.patient,
                appointment_type=setup.kind,
            )
    return {**practice_a(world), "entry": world.objects["waiting"].pk}


def _foreign_waiting_entry(world) -> dict:
    from appointments.services.waiting import waiting_list_add

    setup = booking_world(world)
    foreign = setup.foreign
    with practice_scope(world.practice_b):
        entry = waiting_list_add(
            actor=as_actor(),
            practice=world.practice_b,
            patient=foreign.patient,
            appointment_type=foreign.appointment_type,
        )
    return {**practice_a(world), "entry": entry.pk}


ROUTES += [
    Route("appointments:waiting_list", kwargs=practice_a, allowed=BOOKERS, audit_action="list"),
    Route(
        "appointments:waiting_add",
        kwargs=_slot_page,
        method="post",
        allowed=BOOKERS,
        ok_status=302,
        audit_action="create",
        foreign=_foreign_slot_page,
    ),
    Route(
        "appointments:waiting_resolve",
        kwargs=_waiting_entry,
        method="post",
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_waiting_entry,
    ),
    Route(
        "appointments:reminders_to_check",
        kwargs=_practice_with_a_stuck_reminder,
        allowed=BOOKERS,
        audit_action="list",
    ),
    Route(
        "appointments:reminder_resend",
        kwargs=_stuck_reminder,
        method="post",
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_stuck_reminder,
    ),
    Route(
        "appointments:reminder_dismiss",
        kwargs=_stuck_reminder,
        method="post",
        allowed=BOOKERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_stuck_reminder,
    ),
]

MANAGERS = frozenset({"manager_a"})


def _practitioner(world) -> dict:
    return {**practice_a(world), "practitioner": booking_world(world).practitioner.pk}


def _foreign_practitioner(world) -> dict:
    booking_world(world)
    return {**practice_a(world), "practitioner": world.users["practitioner_b"].pk}


def _type(world) -> dict:
    return {**practice_a(world), "appointment_type": booking_world(world).kind.pk}


def _foreign_type(world) -> dict:
    return {
        **practice_a(world),
        "appointment_type": booking_world(world).foreign.appointment_type_id,
    }


def _hours(world) -> dict:
    from appointments.models import WorkingHours

    setup = booking_world(world)
    with practice_scope(world.practice_a):
        row = WorkingHours.objects.filter(practitioner=setup.practitioner).first()
    return {**practice_a(world), "hours": row.pk}


def _foreign_hours(world) -> dict:
    from appointments.models import WorkingHours

    booking_world(world)
    with practice_scope(world.practice_b):
        row = WorkingHours.objects.filter(practice=world.practice_b).first()
    return {**practice_a(world), "hours": row.pk}


def _absence(world, practice, practitioner) -> int:
    from tests.appointments.helpers import absence, at

    setup = booking_world(world)
    with practice_scope(practice):
        return absence(practice, practitioner, at(setup.monday, 0), at(setup.monday, 8)).pk


def _absence_a(world) -> dict:
    setup = booking_world(world)
    return {**practice_a(world), "absence": _absence(world, world.practice_a, setup.practitioner)}


def _foreign_absence(world) -> dict:
    booking_world(world)
    pk = _absence(world, world.practice_b, world.users["practitioner_b"])
    return {**practice_a(world), "absence": pk}


TYPE_DATA = {
    "name": "Téléconsultation",
    "duration_minutes": 15,
    "colour": "purple",
    "bookable_by_telesecretary": "on",
    "telesecretary_instructions": "Vérifier l'adresse e-mail.",
    "active": "on",
}

ROUTES += [
    Route("appointments:settings", kwargs=practice_a, allowed=MANAGERS, audit_action="view"),
    Route("appointments:type_new", kwargs=practice_a, allowed=MANAGERS, audit_action="view"),
    Route(
        "appointments:type_new",
        kwargs=practice_a,
        method="post",
        data=lambda world: TYPE_DATA,
        allowed=MANAGERS,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "appointments:type_edit",
        kwargs=_type,
        allowed=MANAGERS,
        audit_action="view",
        foreign=_foreign_type,
    ),
    Route(
        "appointments:type_edit",
        kwargs=_type,
        method="post",
        data=lambda world: TYPE_DATA,
        allowed=MANAGERS,
        ok_status=302,
        audit_action="update",
        foreign=_foreign_type,
    ),
    Route(
        "appointments:schedule",
        kwargs=_practitioner,
        allowed=MANAGERS,
        audit_action="view",
        foreign=_foreign_practitioner,
    ),
    Route(
        "appointments:schedule",
        kwargs=_practitioner,
        method="post",
        data=lambda world: {
            "action": "hours",
            "weekday": 5,
            "start_time": "09:00",
            "end_time": "12:00",
        },
        allowed=MANAGERS,
        ok_status=302,
        audit_action="create",
        foreign=_foreign_practitioner,
    ),
    Route(
        "appointments:hours_delete",
        kwargs=_hours,
        method="post",
        allowed=MANAGERS,
        ok_status=302,
        audit_action="delete",
        foreign=_foreign_hours,
    ),
    Route(
        "appointments:absence_delete",
        kwargs=_absence_a,
        method="post",
        allowed=MANAGERS,
        ok_status=302,
        audit_action="delete",
        foreign=_foreign_absence,
    ),
    # A practitioner's own hours and absences (a colleague's rows: 404, in
    # tests/appointments/test_schedule_views.py).
    Route("appointments:my_schedule", kwargs=practice_a, allowed=OWN_AGENDA, audit_action="view"),
    Route(
        "appointments:my_schedule",
        kwargs=practice_a,
        method="post",
        data=lambda world: {
            "action": "hours",
            "weekday": 5,
            "start_time": "09:00",
            "end_time": "12:00",
        },
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "appointments:my_hours_delete",
        kwargs=_hours,
        method="post",
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="delete",
        foreign=_foreign_hours,
    ),
    Route(
        "appointments:my_absence_delete",
        kwargs=_absence_a,
        method="post",
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="delete",
        foreign=_foreign_absence,
    ),
]
