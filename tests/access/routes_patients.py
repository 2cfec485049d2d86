"""Patient routes: identity for telesecretaries and practitioners, clinical
content and exports for practitioners only; the manager, the compliance officer
and the platform admin have no patient page at all."""

from tests.access.routes import Route, practice_a
from tests.factories import as_actor
from tests.personas import World

IDENTITY = frozenset({"telesecretary_a", "telesecretary_ab", "practitioner_a"})
PRACTITIONER = frozenset({"practitioner_a"})


def _patient(world: World, practice) -> object:
    from tests.patients.helpers import make_patient

    key = f"patient_{practice.slug}"
    if key not in world.objects:
        world.objects[key] = make_patient(practice, phone="0611223344")
    return world.objects[key]


def _consent(world: World, practice) -> object:
    from accounts.scoping import practice_scope
    from patients import services

    key = f"consent_{practice.slug}"
    if key not in world.objects:
        patient = _patient(world, practice)
        with practice_scope(practice):
            world.objects[key] = services.consent_record(
                actor=as_actor(world.users["practitioner_a"]),
                patient=patient,
                purpose="sms_reminders",
            )
    return world.objects[key]


def patient_a(world: World) -> dict:
    return {**practice_a(world), "patient": _patient(world, world.practice_a).pk}


def restricted_patient_a(world: World) -> dict:
    """A record of practice A restricted to nobody else: its notes take break-glass."""
    from accounts.scoping import practice_scope
    from patients.models import Patient

    patient = _patient(world, world.practice_a)
    with practice_scope(world.practice_a):
        Patient.objects.filter(pk=patient.pk).update(restricted=True)
    return {**practice_a(world), "patient": patient.pk}


def patient_b_under_a(world: World) -> dict:
    return {**practice_a(world), "patient": _patient(world, world.practice_b).pk}


def consent_a(world: World) -> dict:
    return {**patient_a(world), "consent": _consent(world, world.practice_a).pk}


def consent_b_under_a(world: World) -> dict:
    # Practice A's patient with practice B's consent id, and B's patient with A's.
    return {**patient_a(world), "consent": _consent(world, world.practice_b).pk}


def _identity_data(world: World) -> dict:
    return {
        "last_name": "Nouvel",
        "first_names": "Jeanne",
        "birth_date": "02/03/1990",
        "phone": "07 55 44 33 22",
    }


ROUTES = [
    Route("patients:search", kwargs=practice_a, allowed=IDENTITY, audit_action="view"),
    Route(
        "patients:search",
        kwargs=practice_a,
        method="post",
        data=lambda world: {"q": "06 11 22 33 44"},
        allowed=IDENTITY,
        audit_action="search",
    ),
    Route("patients:create", kwargs=practice_a, allowed=IDENTITY, audit_action="view"),
    Route(
        "patients:create",
        kwargs=practice_a,
        method="post",
        data=_identity_data,
        allowed=IDENTITY,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "patients:detail",
        kwargs=patient_a,
        allowed=IDENTITY,
        audit_action="view",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:edit",
        kwargs=patient_a,
        allowed=IDENTITY,
        audit_action="view",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:edit",
        kwargs=patient_a,
        method="post",
        data=lambda world: {**_identity_data(world), "phone": "0611223344"},
        allowed=IDENTITY,
        ok_status=302,
        audit_action="update",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:note_add",
        kwargs=patient_a,
        allowed=PRACTITIONER,
        audit_action="view",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:note_add",
        kwargs=patient_a,
        method="post",
        data=lambda world: {"text": "Note de test"},
        allowed=PRACTITIONER,
        ok_status=302,
        audit_action="create",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:consent_record",
        kwargs=patient_a,
        method="post",
        data=lambda world: {"purpose": "email_reminders"},
        allowed=IDENTITY,
        ok_status=302,
        audit_action="create",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:consent_withdraw",
        kwargs=consent_a,
        allowed=IDENTITY,
        audit_action="view",
        foreign=consent_b_under_a,
    ),
    Route(
        "patients:consent_withdraw",
        kwargs=consent_a,
        method="post",
        data=lambda world: {"confirm": "on"},
        allowed=IDENTITY,
        ok_status=302,
        audit_action="update",
        foreign=consent_b_under_a,
    ),
    Route(
        "patients:export_html",
        kwargs=patient_a,
        allowed=PRACTITIONER,
        audit_action="export",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:export_json",
        kwargs=patient_a,
        allowed=PRACTITIONER,
        audit_action="export",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:export_pdf",
        kwargs=patient_a,
        allowed=PRACTITIONER,
        audit_action="export",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:break_glass",
        kwargs=patient_a,
        allowed=PRACTITIONER,
        ok_status=302,  # not restricted: straight back to the card
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:break_glass",
        kwargs=restricted_patient_a,
        method="post",
        data=lambda world: {"reason": "Patient inconscient aux urgences, traitement à connaître"},
        allowed=PRACTITIONER,
        ok_status=302,
        audit_action="break_glass",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:restrict",
        kwargs=patient_a,
        method="post",
        data=lambda world: {"restricted": "1"},
        allowed=PRACTITIONER,
        ok_status=302,
        audit_action="update",
        foreign=patient_b_under_a,
    ),
    Route(
        "patients:break_glass_list",
        kwargs=practice_a,
        allowed=PRACTITIONER,
        audit_action="list",
    ),
]
