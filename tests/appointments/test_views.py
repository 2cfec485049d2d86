"""The booking flow, moves, cancellations and agendas through HTTP."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.forms import slot_value
from appointments.models import Appointment
from audit.models import AuditEvent
from tests.appointments.helpers import appointment, at, booked, booking_world
from tests.factories import as_actor
from tests.scoping import refresh


@pytest.fixture
def setup(world):
    return booking_world(world)


def _url(name: str, world, **kwargs) -> str:
    return reverse(f"appointments:{name}", kwargs={"practice": world.practice_a.slug, **kwargs})


def _slot(setup, hour: int, minute: int = 0, practitioner=None) -> str:
    who = practitioner or setup.practitioner
    # As the page writes it (slot_value): UTC.
    return slot_value(who.pk, at(setup.monday, hour, minute).astimezone(UTC))


def _appointments(world):
    with practice_scope(world.practice_a):
        return list(Appointment.objects.filter(practice=world.practice_a))


def test_booking_flow_for_a_telesecretary(world, setup):
    client = world.client("telesecretary_a")
    found = client.post(_url("book", world), {"q": "Lefèvre"})
    assert found.status_code == 200
    assert found["Cache-Control"].count("no-store") == 1
    type_url = _url("book_type", world, patient=setup.patient.pk)
    assert type_url in found.content.decode()

    types = client.get(type_url)
    assert types.status_code == 200
    page = types.content.decode()
    assert "LEFÈVRE" in page
    assert "Demander la carte Vitale." in page
    slot_url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    private_url = _url(
        "book_slot", world, patient=setup.patient.pk, appointment_type=setup.private_kind.pk
    )
    assert slot_url in page
    assert private_url not in page  # kept for the practice: shown, not offered

    proposals = client.get(slot_url, {"a_partir_du": setup.monday.isoformat()})
    assert proposals.status_code == 200
    assert "no-store" in proposals["Cache-Control"]
    assert _slot(setup, 9) in proposals.content.decode()

    done = client.post(slot_url, {"slot": _slot(setup, 9), "reason": "Vertiges depuis lundi"})
    assert done.status_code == 302
    [created] = _appointments(world)
    assert done["Location"] == _url("detail", world, appointment=created.pk)
    assert "Vertiges" not in done["Location"]

    detail = client.get(done["Location"])
    assert detail.status_code == 200
    assert "no-store" in detail["Cache-Control"]
    assert "Vertiges depuis lundi" in detail.content.decode()
    details = AuditEvent.objects.filter(practice=world.practice_a).values_list("detail", flat=True)
    assert not any("Vertiges" in str(d) or "Lefèvre" in str(d) for d in details)


def test_booking_slot_just_taken_answers_409_with_fresh_proposals(world, setup):
    booked(world, hour=9)
    client = world.client("telesecretary_a")
    slot_url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    response = client.post(
        slot_url + f"?a_partir_du={setup.monday.isoformat()}",
        {"slot": _slot(setup, 9), "reason": "Toux"},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "tout juste" in page
    assert _slot(setup, 9) not in page
    assert _slot(setup, 9, 30) in page  # fresh proposals
    assert len(_appointments(world)) == 1


@pytest.mark.parametrize(
    "slot",
    ["garbage", "12|not-a-date", "1|2030-01-01T10:00:00", ""],
    ids=["garbage", "bad-date", "naive", "empty"],
)
def test_booking_forged_slot_is_refused(world, setup, slot):
    client = world.client("telesecretary_a")
    slot_url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    response = client.post(slot_url, {"slot": slot, "reason": ""})
    assert response.status_code == 400
    assert _appointments(world) == []


def test_booking_other_practices_practitioner_or_closed_hours_is_refused(world, setup):
    client = world.client("telesecretary_a")
    slot_url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    foreign = client.post(
        slot_url, {"slot": _slot(setup, 10, practitioner=world.users["practitioner_b"])}
    )
    assert foreign.status_code == 400
    assert "exerce pas dans ce cabinet" in foreign.content.decode()
    lunch = client.post(slot_url, {"slot": _slot(setup, 12, 30)})
    assert lunch.status_code == 400
    assert "horaires" in lunch.content.decode()
    assert _appointments(world) == []


def test_booking_slot_off_the_practitioners_grid_is_refused(world, setup):
    """Only what the slot engine proposes: 09:07 is inside the hours but not on
    the 15-minute grid (09:00, 09:15…); moving there is refused too."""
    client = world.client("telesecretary_a")
    slot_url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    forged = client.post(slot_url, {"slot": _slot(setup, 9, 7), "reason": ""})
    assert forged.status_code == 400
    assert "décalé par rapport à ses créneaux" in forged.content.decode()
    assert _appointments(world) == []
    moved = booked(world, hour=10)
    response = client.post(_url("move", world, appointment=moved.pk), {"slot": _slot(setup, 9, 7)})
    assert response.status_code == 400
    refresh(moved)
    assert moved.start == at(setup.monday, 10)
    assert client.post(slot_url, {"slot": _slot(setup, 9, 15), "reason": ""}).status_code == 302


def test_booking_type_kept_for_practice_is_403_for_telesecretary(world, setup):
    client = world.client("telesecretary_a")
    url = _url("book_slot", world, patient=setup.patient.pk, appointment_type=setup.private_kind.pk)
    for response in (client.get(url), client.post(url, {"slot": _slot(setup, 9)})):
        assert response.status_code == 403
        assert "n'est pas réservable par le télésecrétariat" in response.content.decode()
    assert _appointments(world) == []
    assert AuditEvent.objects.filter(
        action="permission_denied", object_type="appointment_type"
    ).exists()
    # The practitioner may book it.
    response = world.client("practitioner_a").post(url, {"slot": _slot(setup, 9)})
    assert response.status_code == 302


def test_booking_other_practices_type_is_404(world, setup):
    url = _url(
        "book_slot",
        world,
        patient=setup.patient.pk,
        appointment_type=setup.foreign.appointment_type_id,
    )
    assert world.client("telesecretary_a").get(url).status_code == 404


def test_move_via_view_and_taken_slot(world, setup):
    first = booked(world, hour=10)
    booked(world, hour=11)
    client = world.client("telesecretary_a")
    url = _url("move", world, appointment=first.pk)
    page = client.get(url, {"a_partir_du": setup.monday.isoformat()})
    assert page.status_code == 200
    assert _slot(setup, 10, 15) in page.content.decode()  # its own time counts as free
    taken = client.post(url, {"slot": _slot(setup, 11)})
    assert taken.status_code == 409
    moved = client.post(url, {"slot": _slot(setup, 15)})
    assert moved.status_code == 302
    refresh(first)
    assert first.start == at(setup.monday, 15)


def test_cancel_and_status_views(world, setup):
    appointment_row = booked(world, hour=10)
    client = world.client("telesecretary_a")
    cancel_url = _url("cancel", world, appointment=appointment_row.pk)
    assert client.post(cancel_url, {"category": "whim"}).status_code == 400
    assert client.post(cancel_url, {"category": "patient"}).status_code == 302
    refresh(appointment_row)
    assert appointment_row.status == "cancelled"
    # A cancelled appointment cannot be marked arrived: refused, recorded.
    status_url = _url("status", world, appointment=appointment_row.pk)
    response = client.post(status_url, {"status": "arrived"}, follow=True)
    assert "statut n&#x27;est pas possible" in response.content.decode()
    refresh(appointment_row)
    assert appointment_row.status == "cancelled"
    assert client.get(status_url).status_code == 405


def test_practice_day_hides_patient_names_from_manager(world, setup):
    booked(world, hour=10)
    day = {"date": setup.monday.isoformat()}
    tele = world.client("telesecretary_a").get(_url("practice_day", world), day)
    assert "LEFÈVRE" in tele.content.decode()
    assert "no-store" in tele["Cache-Control"]
    manager = world.client("manager_a").get(_url("practice_day", world), day)
    assert manager.status_code == 200
    page = manager.content.decode()
    assert "LEFÈVRE" not in page
    assert "Occupé" in page
    assert "Renouvellement" not in page  # the reason is never on an agenda


def test_practice_day_never_shows_practice_b(world, setup):
    """Practice B has a practitioner and a patient booked that Monday, with
    names found nowhere in practice A: the page must show neither, though the
    reader works for both practices and the page does show names."""
    from tests.patients.helpers import make_patient

    dr_b = world.users["practitioner_b"]
    dr_b.first_name, dr_b.last_name = "Bérénice", "Brocéliande"
    dr_b.save()
    with practice_scope(world.practice_b):
        appointment(
            world.practice_b,
            dr_b,
            setup.foreign.appointment_type,
            at(setup.monday, 11),
            at(setup.monday, 11, 30),
            patient=make_patient(world.practice_b, last_name="Zorglub"),
        )
    booked(world, hour=10)
    page = world.client("telesecretary_ab").get(
        _url("practice_day", world), {"date": setup.monday.isoformat()}
    )
    assert page.status_code == 200
    body = page.content.decode()
    assert "LEFÈVRE" in body  # practice A's own appointment, by name
    assert "ZORGLUB" not in body and "Zorglub" not in body
    assert "Brocéliande" not in body


def _fill(world, setup, count: int) -> None:
    """`count` appointments of distinct patients on Monday (direct rows)."""
    from tests.patients.helpers import make_patient

    start = at(setup.monday, 8)
    with practice_scope(world.practice_a):
        for index in range(count):
            begin = start + timedelta(minutes=15 * index)
            appointment(
                world.practice_a,
                setup.practitioner,
                setup.kind,
                begin,
                begin + timedelta(minutes=15),
                patient=make_patient(world.practice_a, last_name=f"Patient{index}"),
            )


@pytest.mark.parametrize("view", ["practice_day", "my_day", "my_week"])
def test_agenda_query_count_does_not_grow(world, setup, view, django_assert_num_queries):
    client = world.client("practitioner_a")
    url = _url(view, world)
    day = {"date": setup.monday.isoformat()}
    _fill(world, setup, 2)
    client.get(url, day)  # warm the practice key cache and the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        response = client.get(url, day)
    assert response.content.decode().count("PATIENT") == 2
    _fill_more = 18
    with practice_scope(world.practice_a):
        Appointment.objects.filter(practice=world.practice_a).delete()
    _fill(world, setup, 2 + _fill_more)
    with django_assert_num_queries(len(two.captured_queries)):
        response = client.get(url, day)
    assert response.content.decode().count("PATIENT") == 20


def test_patient_page_lists_upcoming_appointments_to_move_or_cancel(world, setup):
    appointment_row = booked(world, hour=10)
    cancelled = booked(world, hour=11)
    with practice_scope(world.practice_a):
        from appointments.services.booking import appointment_cancel

        appointment_cancel(actor=as_actor(), appointment=cancelled, category="patient")
    page = (
        world.client("telesecretary_a")
        .get(_url("book_type", world, patient=setup.patient.pk))
        .content.decode()
    )
    assert _url("detail", world, appointment=appointment_row.pk) in page
    assert _url("detail", world, appointment=cancelled.pk) not in page


def test_private_type_offers_a_message_link_to_the_telesecretary(world, setup):
    page = (
        world.client("telesecretary_a")
        .get(_url("book_type", world, patient=setup.patient.pk))
        .content.decode()
    )
    assert f"{_url('message_new', world)}?patient={setup.patient.pk}" in page


def test_detail_of_a_future_appointment_offers_no_status_buttons(world, setup):
    future = booked(world, hour=10)
    page = world.client("telesecretary_a").get(_url("detail", world, appointment=future.pk))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="arrived"' not in html
    assert "Déplacer" in html
