"""The FHIR API's routes and the platform admin's client pages.

The platform pages join the role table (ROUTES). The API is not session-based:
API_ROUTES is its own table, URL x method x SMART scope, walked by
tests/access/test_api_access.py with bearer tokens — none (401), a token of
the practice without the route's scope (403), a token of another practice
naming practice A's ids (404 on reads; searches find nothing of A), and a token
holding just the route's scope (its answer, and its audit event)."""

import json
from dataclasses import dataclass, field
from datetime import timedelta

from accounts.scoping import practice_scope
from appointments.services.booking import appointment_book
from fhir_api import resources
from fhir_api import services as client_services
from tests.access.routes import Route
from tests.appointments.helpers import at, booking_world
from tests.factories import as_actor
from tests.personas import World

ADMIN = frozenset({"platform_admin"})


def _client(world: World) -> dict:
    if "api_client" not in world.objects:
        world.objects["api_client"], _secret = client_services.api_client_register(
            practice=world.practice_a,
            name="Logiciel A",
            scopes=["system/Slot.rs"],
            actor=as_actor(world.users["platform_admin"], "platform_admin"),
        )
    return {"client_pk": world.objects["api_client"].pk}


ROUTES = [
    Route("fhir:clients", allowed=ADMIN, practice_scoped=False, audit_action="list"),
    Route("fhir:client_create", allowed=ADMIN, practice_scoped=False, ok_status=302),
    Route(
        "fhir:client_create",
        method="post",
        data=lambda world: {
            "practice": world.practice_a.pk,
            "name": "Logiciel A",
            "scopes": ["system/Slot.rs"],
        },
        allowed=ADMIN,
        practice_scoped=False,
        audit_action="create",
    ),
    Route(
        "fhir:client_rotate",
        kwargs=_client,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        audit_action="update",
    ),
    Route(
        "fhir:client_revoke",
        kwargs=_client,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
]


@dataclass(frozen=True)
class ApiRoute:
    name: str
    method: str
    # The SMART scope the route needs (None: public, no token).
    scope: str | None
    kwargs: object = lambda world: {}
    query: object = lambda world: {}
    body: object = None
    ok_status: int = 200
    audit_action: str | None = None
    # A read of practice A's object: another practice's client gets 404.
    instance: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


def _setup(world: World):
    return booking_world(world)


def _appointment(world: World):
    if "api_appointment" not in world.objects:
        setup = _setup(world)
        with practice_scope(setup.practice):
            world.objects["api_appointment"] = appointment_book(
                practice=setup.practice,
                practitioner=setup.practitioner,
                patient=setup.patient,
                appointment_type=setup.kind,
                start=at(setup.monday, 15),
                reason="",
                actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
            )
    return world.objects["api_appointment"]


def _new_appointment(world: World) -> dict:
    setup = _setup(world)
    start = at(setup.monday, 16)
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [
            {"coding": [{"system": resources.TYPE_SYSTEM, "code": str(setup.kind.pk)}]}
        ],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "participant": [
            {"actor": {"reference": f"Patient/{setup.patient.pk}"}, "status": "accepted"},
            {"actor": {"reference": f"Practitioner/{setup.practitioner.pk}"}, "status": "accepted"},
        ],
    }


def _cancelled(world: World) -> dict:
    appointment = _appointment(world)
    return {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "status": "cancelled",
        "participant": [
            {"actor": {"reference": f"Patient/{appointment.patient_id}"}, "status": "accepted"}
        ],
    }


def _practitioner(world: World) -> dict:
    return {"resource_id": str(_setup(world).practitioner.pk)}


API_ROUTES = [
    ApiRoute("fhir:metadata", "get", None),
    ApiRoute("fhir:smart_configuration", "get", None),
    ApiRoute("fhir:practitioner_search", "get", "system/Practitioner.rs", audit_action="search"),
    ApiRoute(
        "fhir:practitioner_read",
        "get",
        "system/Practitioner.rs",
        kwargs=_practitioner,
        audit_action="view",
        instance=True,
    ),
    ApiRoute(
        "fhir:practitioner_role_search", "get", "system/PractitionerRole.rs", audit_action="search"
    ),
    ApiRoute(
        "fhir:practitioner_role_read",
        "get",
        "system/PractitionerRole.rs",
        kwargs=_practitioner,
        audit_action="view",
        instance=True,
    ),
    ApiRoute("fhir:schedule_search", "get", "system/Schedule.rs", audit_action="search"),
    ApiRoute(
        "fhir:schedule_read",
        "get",
        "system/Schedule.rs",
        kwargs=_practitioner,
        audit_action="view",
        instance=True,
    ),
    ApiRoute(
        "fhir:slot_search",
        "get",
        "system/Slot.rs",
        query=lambda world: {"service-type": str(_setup(world).kind.pk)},
        audit_action="search",
    ),
    ApiRoute(
        "fhir:patient_search",
        "get",
        "system/Patient.rs",
        query=lambda world: {"telecom": "0612345678"},
        audit_action="search",
    ),
    ApiRoute(
        "fhir:patient_read",
        "get",
        "system/Patient.rs",
        kwargs=lambda world: {"resource_id": str(_setup(world).patient.pk)},
        audit_action="view",
        instance=True,
    ),
    ApiRoute(
        "fhir:appointments",
        "get",
        "system/Appointment.rs",
        query=lambda world: {"patient": str(_appointment(world).patient_id)},
        audit_action="search",
    ),
    ApiRoute(
        "fhir:appointments",
        "post",
        "system/Appointment.c",
        body=_new_appointment,
        ok_status=201,
        audit_action="create",
    ),
    ApiRoute(
        "fhir:appointment",
        "get",
        "system/Appointment.rs",
        kwargs=lambda world: {"resource_id": str(_appointment(world).pk)},
        audit_action="view",
        instance=True,
    ),
    ApiRoute(
        "fhir:appointment",
        "put",
        "system/Appointment.u",
        kwargs=lambda world: {"resource_id": str(_appointment(world).pk)},
        body=_cancelled,
        audit_action="update",
        instance=True,
    ),
    # The OAuth endpoints: client authentication, not a bearer token
    # (tests/fhir_api/test_auth.py).
    ApiRoute("fhir:token", "post", None, ok_status=400),
    ApiRoute("fhir:revoke", "post", None, ok_status=400),
]


def body_of(route: ApiRoute, world: World) -> str | None:
    return json.dumps(route.body(world)) if route.body else None
