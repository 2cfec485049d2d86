"""The FHIR API against the same rules as the pages: slots from the slot
engine, booking through the booking service, tenants apart, every call audited."""

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from fhir.resources.R4B.bundle import Bundle

from accounts.models import Practice
from accounts.roles import Role
from accounts.scoping import practice_scope
from appointments import slots
from appointments.models import Appointment
from audit.models import AuditEvent
from fhir_api import resources
from patients.models import Patient
from tests.appointments.helpers import at, booked, booking_world, schedule
from tests.factories import UserFactory, grant
from tests.fhir_api.helpers import api_client_for
from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json"


def _post(client: Client, url: str, resource: dict):
    return client.post(url, json.dumps(resource), content_type=FHIR_JSON)


def _put(client: Client, url: str, resource: dict):
    return client.put(url, json.dumps(resource), content_type=FHIR_JSON)


def _entries(response) -> list[dict]:
    assert response.status_code == 200, response.content
    Bundle.model_validate(response.json())
    return [entry["resource"] for entry in response.json().get("entry", [])]


def _next(response) -> str | None:
    links = {link["relation"]: link["url"] for link in response.json()["link"]}
    return links.get("next")


def _appointment(setup, start, patient=None) -> dict:
    return {
        "resourceType": "Appointment",
        "status": "booked",
        "serviceType": [
            {"coding": [{"system": resources.TYPE_SYSTEM, "code": str(setup.kind.pk)}]}
        ],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=30)).isoformat(),
        "participant": [
            {
                "actor": {"reference": f"Patient/{(patient or setup.patient).pk}"},
                "status": "accepted",
            },
            {"actor": {"reference": f"Practitioner/{setup.practitioner.pk}"}, "status": "accepted"},
        ],
    }


def _api_events(since: int):
    return AuditEvent.objects.filter(id__gt=since, role="api_client").order_by("id")


def _last_event_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_metadata_is_a_valid_capability_statement_without_a_token(world):
    response = Client().get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    types = {entry["type"] for entry in statement["rest"][0]["resource"]}
    assert types == {
        "Practitioner",
        "PractitionerRole",
        "Schedule",
        "Slot",
        "Patient",
        "Appointment",
    }
    [oauth] = statement["rest"][0]["security"]["extension"]
    assert oauth["extension"][0]["valueUri"] == "http://testserver/fhir/auth/token"


def test_slot_search_offers_what_the_pages_slot_engine_offers(world):
    setup = booking_world(world)
    booked(world, hour=10)
    client = api_client_for(world)
    start = at(setup.monday, 9)
    response = client.get(
        "/fhir/Slot",
        {"service-type": str(setup.kind.pk), "start": f"ge{start.isoformat()}", "_count": "8"},
    )
    with practice_scope(setup.practice):
        expected = slots.find_free_slots(
            practice=setup.practice, appointment_type=setup.kind, start_from=start, count=8
        )
    found = [(slot["start"], slot["schedule"]["reference"]) for slot in _entries(response)]
    assert found == [
        (resources.instant(slot.start), f"Schedule/{slot.practitioner_id}") for slot in expected
    ]
    assert resources.instant(at(setup.monday, 10)) not in {start for start, _ in found}


def test_slot_pages_give_every_slot_once_when_practitioners_share_starts(world):
    setup = booking_world(world)
    colleague = grant(UserFactory(username="dr_a2"), Role.PRACTITIONER, setup.practice)
    with practice_scope(setup.practice):
        schedule(setup.practice, colleague)
        expected = slots.find_free_slots(
            practice=setup.practice,
            appointment_type=setup.kind,
            start_from=at(setup.monday, 9),
            count=13,
        )
    client = api_client_for(world)
    url = f"/fhir/Slot?service-type={setup.kind.pk}&start=ge{at(setup.monday, 9).isoformat()}"
    url = url.replace("+", "%2B") + "&_count=3"
    seen = []
    while url and len(seen) < 13:
        response = client.get(url)
        seen += [(slot["start"], slot["schedule"]["reference"]) for slot in _entries(response)]
        url = _next(response)
    assert seen[:13] == [
        (resources.instant(slot.start), f"Schedule/{slot.practitioner_id}") for slot in expected
    ]


def test_booking_a_slot_then_reading_it_back(world):
    setup = booking_world(world)
    client = api_client_for(world)
    [slot] = _entries(
        client.get(
            "/fhir/Slot",
            {
                "service-type": str(setup.kind.pk),
                "start": f"ge{setup.monday.isoformat()}",
                "_count": "1",
            },
        )
    )
    since = _last_event_id()
    resource = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": f"Slot/{slot['id']}"}],
        "participant": [
            {"actor": {"reference": f"Patient/{setup.patient.pk}"}, "status": "accepted"}
        ],
    }
    response = _post(client, "/fhir/Appointment", resource)
    assert response.status_code == 201, response.content
    created = response.json()
    assert response["Location"] == f"http://testserver/fhir/Appointment/{created['id']}"
    assert (created["start"], created["status"]) == (slot["start"], "booked")
    read = client.get(f"/fhir/Appointment/{created['id']}").json()
    assert read["participant"][0]["actor"]["reference"] == f"Patient/{setup.patient.pk}"
    assert "description" not in read and "comment" not in read
    with practice_scope(setup.practice):
        row = Appointment.objects.get(pk=created["id"])
        assert row.created_by is None and row.read("reason") == ""
    events = list(_api_events(since).values_list("action", "object_type", "actor_username"))
    client_name = events[0][2]
    assert client_name.startswith("system:api:")
    assert events == [
        ("create", "appointment", client_name),
        ("view", "appointment", client_name),
    ]


def test_booking_a_taken_slot_answers_409_and_writes_nothing(world):
    setup = booking_world(world)
    booked(world, hour=10)
    client = api_client_for(world)
    with practice_scope(setup.practice):
        other = make_patient(setup.practice, last_name="Martin", phone="0611223344")
        before = Appointment.objects.filter(practice=setup.practice).count()
    response = _post(client, "/fhir/Appointment", _appointment(setup, at(setup.monday, 10), other))
    assert response.status_code == 409
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "conflict"
    with practice_scope(setup.practice):
        assert Appointment.objects.filter(practice=setup.practice).count() == before


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda r: {**r, "start": r["start"].replace(":00+", ":07+")}, 422),  # off the grid
        (lambda r: {**r, "status": "proposed"}, 422),
        (lambda r: {**r, "participant": r["participant"][1:]}, 422),  # no patient
        (lambda r: {**r, "resourceType": "Patient"}, 422),
        (lambda r: {**r, "start": 12}, 422),  # fhir.resources refuses it
        (lambda r: {**r, "serviceType": [{"coding": [{"code": "999999"}]}]}, 422),
    ],
)
def test_invalid_appointment_answers_422_and_writes_nothing(world, change, status):
    setup = booking_world(world)
    client = api_client_for(world)
    response = _post(client, "/fhir/Appointment", change(_appointment(setup, at(setup.monday, 11))))
    assert response.status_code == status, response.content
    assert response.json()["resourceType"] == "OperationOutcome"
    with practice_scope(setup.practice):
        assert not Appointment.objects.filter(practice=setup.practice).exists()


def test_a_body_that_is_not_json_answers_400(world):
    booking_world(world)
    response = api_client_for(world).post("/fhir/Appointment", "{nope", content_type=FHIR_JSON)
    assert response.status_code == 400
    assert response.json()["issue"][0]["code"] == "invalid"


def test_another_practices_ids_answer_404_and_are_audited(world):
    setup = booking_world(world)
    with practice_scope(world.practice_b):
        patient_b = make_patient(world.practice_b, last_name="Autre", phone="0699999999")
    client = api_client_for(world)
    urls = [
        f"/fhir/Patient/{patient_b.pk}",
        f"/fhir/Appointment/{setup.foreign.pk}",
        f"/fhir/Practitioner/{world.users['practitioner_b'].pk}",
        f"/fhir/Schedule/{world.users['practitioner_b'].pk}",
        f"/fhir/PractitionerRole/{world.users['practitioner_b'].pk}",
        "/fhir/Patient/not-a-uuid",
    ]
    for url in urls:
        since = _last_event_id()
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.json()["issue"][0]["code"] == "not-found"
        assert list(_api_events(since).values_list("action", flat=True)) == ["permission_denied"]
    # Booking practice B's patient from practice A's client: refused, nothing written.
    response = _post(
        client, "/fhir/Appointment", _appointment(setup, at(setup.monday, 11), patient_b)
    )
    assert response.status_code == 422
    # Searches stay inside the practice.
    assert _entries(client.get("/fhir/Patient", {"telecom": "0699999999"})) == []
    assert (
        _entries(
            client.get("/fhir/Appointment", {"practitioner": str(setup.foreign.practitioner_id)})
        )
        == []
    )


def test_patient_search_through_the_blind_indexes(world):
    setup = booking_world(world)
    with practice_scope(setup.practice):
        twin = make_patient(
            setup.practice,
            last_name="Lefèvre",
            first_names="Paul",
            phone="0622334455",
            birth_date=date(1990, 1, 2),
            birth_name="",
        )
    with practice_scope(world.practice_b):
        make_patient(world.practice_b)  # same identity, another practice
    client = api_client_for(world)
    since = _last_event_id()

    def ids(**params) -> set[str]:
        return {patient["id"] for patient in _entries(client.get("/fhir/Patient", params))}

    assert ids(telecom="06 12 34 56 78") == {str(setup.patient.pk)}
    assert ids(telecom="phone|+33612345678") == {str(setup.patient.pk)}
    assert ids(family="LEFEVRE") == {str(setup.patient.pk), str(twin.pk)}
    assert ids(family="lefevre", given="elodie") == {str(setup.patient.pk)}
    assert ids(birthdate="1984-07-14", family="Lefèvre") == {str(setup.patient.pk)}
    assert ids(family="Dubois-Clément") == {str(setup.patient.pk)}  # birth name
    assert ids(telecom="0699000000") == set()
    event = _api_events(since).filter(object_type="patient_search").first()
    assert event.detail["patient_ids"] == [str(setup.patient.pk)]
    for params in (
        {},
        {"given": "Elodie"},
        {"telecom": "abc"},
        {"name": "x"},
        {"birthdate": "14/07"},
    ):
        response = client.get("/fhir/Patient", params)
        assert response.status_code == 400, params
        assert response.json()["resourceType"] == "OperationOutcome"


def test_patient_search_decrypts_only_the_matched_rows(world):
    setup = booking_world(world)
    with practice_scope(setup.practice):
        other = make_patient(
            setup.practice, last_name="Martin", phone="0611223344", birth_date=date(1990, 1, 2)
        )
        # A row whose ciphertext cannot be opened: reading it would raise.
        Patient.objects.filter(practice=setup.practice, pk=other.pk).update(
            last_name_sealed=b"\x01broken"
        )
    client = api_client_for(world)
    found = _entries(client.get("/fhir/Patient", {"birthdate": "1984-07-14"}))
    assert [patient["id"] for patient in found] == [str(setup.patient.pk)]


def test_cancel_through_status_cancelled(world):
    setup = booking_world(world)
    appointment = booked(world, hour=10)
    client = api_client_for(world)
    url = f"/fhir/Appointment/{appointment.pk}"
    resource = client.get(url).json()
    moved = {**resource, "start": resources.instant(at(setup.monday, 11))}
    moved["status"] = "arrived"
    assert _put(client, url, moved).status_code == 422
    cancelled = {**resource, "status": "cancelled"}
    cancelled["cancelationReason"] = {"coding": [{"code": "patient"}]}
    response = _put(client, url, cancelled)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"
    with practice_scope(setup.practice):
        row = Appointment.objects.get(pk=appointment.pk)
        assert (row.status, row.cancellation_category) == ("cancelled", "patient")
    # The slot is free again for the pages' slot engine.
    assert _put(client, url, cancelled).status_code == 200


def test_appointment_search_pages_with_a_bounded_count(world, settings):
    setup = booking_world(world)
    for hour in (9, 10, 11, 14):
        booked(world, hour=hour)
    client = api_client_for(world)
    settings.FHIR_PAGE_MAX = 3
    response = client.get(
        "/fhir/Appointment", {"patient": f"Patient/{setup.patient.pk}", "_count": "500"}
    )
    first = _entries(response)
    assert len(first) == 3
    second = _entries(client.get(_next(response)))
    starts = [entry["start"] for entry in first + second]
    assert starts == [resources.instant(at(setup.monday, hour)) for hour in (9, 10, 11, 14)]
    day = setup.monday.isoformat()
    assert len(_entries(client.get("/fhir/Appointment", {"date": f"ge{day}", "_count": "2"}))) == 2
    response = client.get("/fhir/Appointment", {"date": "lt2000-01-01"})
    assert _entries(response) == [] and _next(response) is None
    assert client.get("/fhir/Appointment", {"_count": "-1"}).status_code == 400
    assert client.get("/fhir/Appointment", {"subject": "x"}).status_code == 400


def test_no_practice_data_for_a_suspended_practice(world):
    booking_world(world)
    client = api_client_for(world)
    assert client.get("/fhir/Practitioner").status_code == 200
    Practice.objects.filter(pk=world.practice_a.pk).update(status=Practice.Status.SUSPENDED)
    assert client.get("/fhir/Practitioner").status_code == 401
