from tests.access.routes import Route, practice_a
from tests.access.routes_appointments import BOOKERS, _foreign_patient, _patient, _slot
from tests.appointments.helpers import booking_world
from tests.console.helpers import phone_line, ring

LOGGED_IN = frozenset(
    {
        "telesecretary_a",
        "telesecretary_ab",
        "practitioner_a",
        "practitioner_b",
        "manager_a",
        "compliance_officer",
        "platform_admin",
        "no_role",
    }
)


def _book(world) -> dict:
    return {**_patient(world), "appointment_type": booking_world(world).kind.pk}


def _foreign_book(world) -> dict:
    return {**_foreign_patient(world), "appointment_type": booking_world(world).kind.pk}


def _call(world) -> dict:
    if "call" not in world.objects:
        booking_world(world)
        world.objects["call"] = ring(phone_line(world.practice_a), "06 12 34 56 78", "tele_a")
    return {**practice_a(world), "call": world.objects["call"].pk}


def _foreign_call(world) -> dict:
    if "foreign_call" not in world.objects:
        line = phone_line(world.practice_b, "+33140000002")
        world.objects["foreign_call"] = ring(line, "06 12 34 56 78", "tele_ab", call_id="b-1")
    return {**practice_a(world), "call": world.objects["foreign_call"].pk}


TELESECRETARIES = frozenset({"telesecretary_a", "telesecretary_ab"})


def _message(world) -> dict:
    from tests.access.routes_appointments import _message as appointments_message

    return appointments_message(world)


ROUTES = [
    Route(
        "console:message",
        kwargs=_patient,
        allowed=TELESECRETARIES,
        audit_action="view",
        foreign=_foreign_patient,
    ),
    Route(
        "console:message",
        kwargs=_patient,
        method="post",
        data=lambda world: {
            "practitioner": world.users["practitioner_a"].pk,
            "callback": "06 12 34 56 78",
            "text": "Rappeler",
        },
        allowed=TELESECRETARIES,
        audit_action="create",
        foreign=_foreign_patient,
    ),
    Route(
        "console:reply",
        kwargs=_message,
        allowed=frozenset({"practitioner_a"}),
        audit_action="view",
    ),
    Route(
        "console:reply",
        kwargs=_message,
        method="post",
        data=lambda world: {"text": "Résultats normaux"},
        allowed=frozenset({"practitioner_a"}),
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "console:call_end",
        kwargs=practice_a,
        method="post",
        data=lambda world: {"outcome": "information"},
        allowed=BOOKERS,
        audit_action="create",
    ),
    Route(
        "console:practice_calls",
        kwargs=practice_a,
        allowed=frozenset({"manager_a"}),
        audit_action="list",
    ),
    Route(
        "console:platform_calls",
        allowed=frozenset({"platform_admin"}),
        practice_scoped=False,
        audit_action="list",
    ),
    # Polled by every open console: 204, audited only when it hands a call over
    # (tests/console/test_cti.py).
    Route("console:ringing", allowed=LOGGED_IN, practice_scoped=False, ok_status=204),
    Route(
        "console:call",
        kwargs=_call,
        allowed=BOOKERS,
        audit_action="search",
        foreign=_foreign_call,
    ),
    Route(
        "console:home",
        allowed=LOGGED_IN,
        practice_scoped=False,
        audit_action="view",
    ),
    Route("console:practice", kwargs=practice_a, allowed=BOOKERS, audit_action="view"),
    Route(
        "console:search",
        kwargs=practice_a,
        method="post",
        data=lambda world: {"q": "Lefèvre"},
        allowed=BOOKERS,
        audit_action="search",
    ),
    Route("console:new_caller", kwargs=practice_a, allowed=BOOKERS, audit_action="view"),
    Route(
        "console:new_caller",
        kwargs=practice_a,
        method="post",
        data=lambda world: {
            "phone": "06 11 22 33 44",
            "last_name": "Nouveau",
            "first_names": "Jean",
            "birth_date": "01/02/1990",
            "sms_consent": "oui",
        },
        allowed=BOOKERS,
        audit_action="create",
    ),
    Route(
        "console:patient",
        kwargs=_patient,
        allowed=BOOKERS,
        audit_action="view",
        foreign=_foreign_patient,
    ),
    Route(
        "console:book",
        kwargs=_book,
        method="post",
        data=lambda world: {**_slot(world, 11), "reason": "Fièvre"},
        allowed=BOOKERS,
        audit_action="create",
        foreign=_foreign_book,
    ),
]
