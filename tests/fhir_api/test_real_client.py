"""A real FHIR client against a live server: `fhirclient` (the SMART on FHIR
Python client, R4 models) obtains a token with client credentials, searches
free slots, books one, reads it back and cancels it, over HTTP."""

import pytest
from fhirclient import client as smart_client
from fhirclient.auth import FHIRAuth
from fhirclient.models.appointment import Appointment
from fhirclient.models.patient import Patient
from fhirclient.models.slot import Slot
from fhirclient.server import FHIRNotFoundException, FHIRUnauthorizedException

from tests.appointments.helpers import booked, booking_world
from tests.fhir_api.helpers import register

pytestmark = pytest.mark.django_db(transaction=True)
SCOPES = "system/Slot.rs system/Patient.rs system/Appointment.rs system/Appointment.c"


def _connect(live_server, api_client, secret: str, scope: str = SCOPES):
    """fhirclient set up as a backend service: its OAuth2 auth with our token
    endpoint (from the CapabilityStatement), the client id and secret."""
    base = f"{live_server.url}/fhir/"
    smart = smart_client.FHIRClient(
        settings={"app_id": api_client.client_id, "app_secret": secret, "api_base": base}
    )
    smart.scope = scope
    smart.wants_patient = False
    statement = smart.server.capabilityStatement
    [oauth_uris] = statement.rest[0].security.extension
    token_uri = oauth_uris.extension[0].valueUri
    assert token_uri == f"{live_server.url}/fhir/auth/token"
    smart.server.auth = FHIRAuth.create(
        "oauth2",
        state={"app_id": api_client.client_id, "app_secret": secret, "token_uri": token_uri},
    )
    smart.authorize()
    assert smart.ready
    return smart


def test_fhirclient_books_a_slot_and_reads_it_back(world, live_server):
    setup = booking_world(world)
    api_client, secret = register(world)
    smart = _connect(live_server, api_client, secret)

    search = Slot.where(
        {
            "service-type": str(setup.kind.pk),
            "start": f"ge{setup.monday.isoformat()}",
            "_count": "3",
        }
    )
    # The first page only: perform_resources() would follow every `next` link
    # to the end of the slot engine's horizon (six months of slots).
    first_page = next(search.perform_iter(smart.server))
    found = [entry.resource for entry in first_page.entry]
    assert len(found) == 3 and all(slot.status == "free" for slot in found)
    [patient] = list(Patient.where({"telecom": "0612345678"}).perform_resources_iter(smart.server))
    assert patient.id == str(setup.patient.pk)

    appointment = Appointment(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{found[0].id}"}],
            "participant": [
                {"actor": {"reference": f"Patient/{patient.id}"}, "status": "accepted"}
            ],
        }
    )
    created = appointment.create(smart.server)
    assert created["status"] == "booked"
    read = Appointment.read(created["id"], smart.server)
    assert read.start.isostring == found[0].start.isostring
    assert read.participant[0].actor.reference == f"Patient/{patient.id}"

    # The slot is gone from the next search: the same engine as the pages.
    again = next(search.perform_iter(smart.server))
    assert found[0].id not in {entry.resource.id for entry in again.entry}


def test_fhirclient_of_another_practice_gets_404_for_practice_a_ids(world, live_server):
    setup = booking_world(world)
    appointment_a = booked(world, hour=10)
    api_client, secret = register(world, practice=world.practice_b)
    smart = _connect(live_server, api_client, secret)
    with pytest.raises(FHIRNotFoundException):
        Patient.read(str(setup.patient.pk), smart.server)
    with pytest.raises(FHIRNotFoundException):
        Appointment.read(str(appointment_a.pk), smart.server)
    assert Appointment.read(str(setup.foreign.pk), smart.server).id == str(setup.foreign.pk)
    empty = next(Slot.where({"service-type": str(setup.kind.pk)}).perform_iter(smart.server))
    assert not empty.entry


def test_fhirclient_without_the_scope_is_refused(world, live_server):
    setup = booking_world(world)
    api_client, secret = register(world, scopes=["system/Slot.rs"])
    smart = _connect(live_server, api_client, secret, scope="system/Slot.rs")
    with pytest.raises(Exception) as refused:
        Patient.read(str(setup.patient.pk), smart.server)
    assert not isinstance(refused.value, FHIRUnauthorizedException)
    assert refused.value.response.status_code == 403
