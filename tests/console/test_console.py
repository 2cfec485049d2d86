"""The call console through HTTP: search, the booking panel, booking through
the appointments service, the refusals."""

from datetime import UTC, date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership
from accounts.roles import Role
from accounts.scoping import practice_scope
from accounts.services import membership_revoke
from appointments.forms import slot_value
from appointments.models import Appointment
from appointments.services.schedule import appointment_type_save
from audit.context import Actor
from audit.models import AuditEvent
from tests.appointments.helpers import appointment_type, at, booked, booking_world
from tests.factories import UserFactory, grant
from tests.patients.helpers import make_patient

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def setup(world):
    return booking_world(world)


def _url(name: str, world, **kwargs) -> str:
    return reverse(f"console:{name}", kwargs={"practice": world.practice_a.slug, **kwargs})


def _slot(setup, hour: int, minute: int = 0) -> str:
    return slot_value(setup.practitioner.pk, at(setup.monday, hour, minute).astimezone(UTC))


def _appointments(world) -> list[Appointment]:
    with practice_scope(world.practice_a):
        return list(Appointment.objects.filter(practice=world.practice_a))


def _last_event(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).order_by("-id").first()


def test_console_page_shows_practice_instructions_and_practitioners(world, setup):
    page = world.client("telesecretary_a").get(_url("practice", world))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Cabinet A" in text
    assert "Demander la carte Vitale." in text
    assert setup.practitioner.username in text or setup.practitioner.get_full_name() in text
    assert 'id="console-q"' in text and "autofocus" in text
    assert "js/console.js" in text and "htmx-2.min.js" in text
    assert page["Server-Timing"].startswith("app;dur=")


def test_console_single_phone_match_opens_booking_with_slots(world, setup):
    booked(world, hour=10)  # the patient's last appointment: with practitioner_a
    response = world.client("telesecretary_a").post(
        _url("search", world), {"q": "+33 6 12 34 56 78", "auto": "on"}, **HTMX
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "data-booking" in text
    assert "<html" not in text  # the panel alone
    assert f'value="{setup.practitioner.pk}" selected' in text  # the usual practitioner
    assert f'value="{setup.kind.pk}" selected' in text  # the last type
    assert 'data-slot-key="1"' in text
    assert "no-store" in response["Cache-Control"]
    assert "Server-Timing" in response
    search = _last_event("search")
    assert search.detail["for"] == "console"
    assert search.detail["patient_ids"] == [str(setup.patient.pk)]
    view = _last_event("view")
    assert view.object_id == str(setup.patient.pk)
    assert view.detail["for"] == "console_booking"


def test_console_name_typed_lists_a_single_match_instead_of_opening(world, setup):
    client = world.client("telesecretary_a")
    typed = client.post(_url("search", world), {"q": "Lefèvre", "auto": "on"}, **HTMX)
    assert "data-booking" not in typed.content.decode()
    assert "data-result" in typed.content.decode()
    entered = client.post(_url("search", world), {"q": "Lefèvre"}, **HTMX)
    assert "data-booking" in entered.content.decode()


def test_console_search_never_finds_another_practices_patient(world, setup):
    make_patient(world.practice_b, first_names="Autre", phone="06 99 99 99 99")
    response = world.client("telesecretary_ab").post(
        _url("search", world), {"q": "06 99 99 99 99"}, **HTMX
    )
    assert response.status_code == 200
    assert "Autre" not in response.content.decode()


def test_console_without_htmx_answers_the_whole_page(world, setup):
    response = world.client("telesecretary_a").post(_url("search", world), {"q": "Lefèvre"})
    text = response.content.decode()
    assert "<html" in text and "data-booking" in text


def test_console_panel_defaults_to_the_first_bookable_type_without_history(world, setup):
    response = world.client("telesecretary_a").get(
        _url("patient", world, patient=setup.patient.pk), **HTMX
    )
    text = response.content.decode()
    assert f'value="{setup.kind.pk}" selected' in text
    assert f'value="{setup.private_kind.pk}"' not in text  # kept for the practice
    assert 'value="tous" selected' in text  # no usual practitioner yet


def _second_type(world, *, default: bool):
    with practice_scope(world.practice_a):
        kind = appointment_type(world.practice_a, minutes=20, name="Vaccination")
        if default:
            kind.is_default = True
            appointment_type_save(appointment_type=kind, actor=Actor.system("test"))
    return kind


def test_console_panel_preselects_the_practice_default_type_without_history(world, setup):
    vaccination = _second_type(world, default=True)  # not first by name: "Consultation" is
    response = world.client("telesecretary_a").get(
        _url("patient", world, patient=setup.patient.pk), **HTMX
    )
    text = response.content.decode()
    assert f'value="{vaccination.pk}" selected' in text
    assert f'value="{setup.kind.pk}" selected' not in text


def test_console_panel_prefers_the_patients_last_type_to_the_default(world, setup):
    booked(world, hour=10)  # with setup.kind
    _second_type(world, default=True)
    response = world.client("telesecretary_a").get(
        _url("patient", world, patient=setup.patient.pk), **HTMX
    )
    assert f'value="{setup.kind.pk}" selected' in response.content.decode()


def test_console_panel_skips_a_usual_practitioner_who_left_the_practice(world, setup):
    booked(world, hour=10)  # with practitioner_a, who then leaves the practice
    membership = Membership.objects.get(
        user=setup.practitioner, practice=world.practice_a, role=Role.PRACTITIONER
    )
    membership_revoke(membership=membership, actor=Actor.system("test"))
    response = world.client("telesecretary_a").get(
        _url("patient", world, patient=setup.patient.pk), **HTMX
    )
    text = response.content.decode()
    assert 'value="tous" selected' in text
    assert f'value="{setup.practitioner.pk}" selected' not in text


def _reads(queries, *starts: str) -> int:
    """The queries whose SQL starts with one of these."""
    return sum(1 for q in queries.captured_queries if q["sql"].startswith(starts))


def test_console_call_page_reads_practitioners_types_and_history_once(world, setup):
    booked(world, hour=10)
    client = world.client("telesecretary_a")
    url = _url("patient", world, patient=setup.patient.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)  # the whole page: the header and the panel
    assert response.status_code == 200 and "data-booking" in response.content.decode()
    # The header, the panel's choice and the slots' names share one read of
    # each: the practitioners, the types, the patient's last appointments.
    users = 'SELECT "accounts_user"."id", "accounts_user"."password"'
    practitioners = [q for q in queries.captured_queries if q["sql"].startswith(users)]
    assert sum('"accounts_membership"' in q["sql"] for q in practitioners) == 1
    assert _reads(queries, 'SELECT "appointments_appointmenttype"."id"') == 1
    history = _reads(
        queries,
        'SELECT "appointments_appointment"."appointment_type_id"',
        'SELECT "appointments_appointment"."practitioner_id"',
    )
    assert history == 1


def test_console_books_through_the_service(world, setup):
    url = _url("book", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    response = world.client("telesecretary_a").post(
        url, {"slot": _slot(setup, 9), "reason": "Vertiges"}, **HTMX
    )
    assert response.status_code == 200
    assert "data-booked" in response.content.decode()
    [created] = _appointments(world)
    assert created.start == at(setup.monday, 9)
    assert created.read("reason") == "Vertiges"
    create = AuditEvent.objects.get(action="create", object_type="appointment")
    assert create.object_id == str(created.pk)
    assert create.role == "telesecretary"


def test_console_taken_slot_is_409_and_nothing_written(world, setup):
    booked(world, hour=9)
    url = _url("book", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    response = world.client("telesecretary_a").post(url, {"slot": _slot(setup, 9)}, **HTMX)
    assert response.status_code == 409
    assert "data-booking" in response.content.decode()
    assert len(_appointments(world)) == 1


def test_console_forged_slot_is_400(world, setup):
    url = _url("book", world, patient=setup.patient.pk, appointment_type=setup.kind.pk)
    response = world.client("telesecretary_a").post(url, {"slot": "1|demain"}, **HTMX)
    assert response.status_code == 400
    assert "Créneau invalide." in response.content.decode()
    assert _appointments(world) == []


def test_console_refuses_a_type_kept_by_the_practice(world, setup):
    url = _url("book", world, patient=setup.patient.pk, appointment_type=setup.private_kind.pk)
    response = world.client("telesecretary_a").post(url, {"slot": _slot(setup, 9)}, **HTMX)
    assert response.status_code == 403
    assert _appointments(world) == []


def test_console_another_practices_patient_or_type_is_404(world, setup):
    foreign_patient = make_patient(world.practice_b)
    with practice_scope(world.practice_b):
        foreign_type = appointment_type(world.practice_b)
    client = world.client("telesecretary_ab")
    for url in (
        _url("book", world, patient=foreign_patient.pk, appointment_type=setup.kind.pk),
        _url("book", world, patient=setup.patient.pk, appointment_type=foreign_type.pk),
    ):
        assert client.post(url, {"slot": _slot(setup, 9)}).status_code == 404
    assert _appointments(world) == []


def test_console_home_lists_the_practices_the_user_books_for(world):
    response = world.client("telesecretary_ab").get(reverse("console:home"))
    text = response.content.decode()
    assert 'data-practice-key="1"' in text and 'data-practice-key="2"' in text
    assert "Cabinet A" in text and "Cabinet B" in text
    manager = world.client("manager_a").get(reverse("console:home"))
    assert "Cabinet A" not in manager.content.decode()


def test_console_home_practice_without_booking_right_is_not_listed(world):
    user = grant(UserFactory(username="mixed"), "practice_manager", world.practice_b)
    grant(user, "telesecretary", world.practice_a)
    from tests.personas import verified_client

    text = verified_client(user).get(reverse("console:home")).content.decode()
    assert "Cabinet A" in text and "Cabinet B" not in text


def test_console_panel_for_all_practitioners_reads_them_once(world, setup):
    client = world.client("telesecretary_a")
    url = _url("patient", world, patient=setup.patient.pk)
    client.get(url, **HTMX)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **HTMX)  # no usual practitioner: all of them
    assert 'value="tous" selected' in response.content.decode()
    # The panel's list and the slots' search share one read of the practitioners.
    reads = [q for q in queries.captured_queries if q["sql"].startswith('SELECT "accounts_user"')]
    assert sum('"accounts_membership"' in q["sql"] for q in reads) == 1


# 1900: the earliest birth date a patient may have.
@pytest.mark.parametrize("born", [date(1965, 1, 30), date(1900, 1, 1)])
def test_console_panel_shows_the_birth_date_the_french_way(world, setup, born):
    patient = make_patient(world.practice_a, birth_date=born)
    response = world.client("telesecretary_a").get(
        _url("patient", world, patient=patient.pk), **HTMX
    )
    assert f"né(e) le {born:%d/%m/%Y}" in response.content.decode()
