from tests.access.routes import Route, practice_a
from tests.access.routes_appointments import BOOKERS, _foreign_patient, _patient, _slot
from tests.appointments.helpers import booking_world

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


ROUTES = [
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
