"""Issue 12, defect 2: an out-of-range date or a hostile character never
poisons a practice. Every path that answered 500 (or stored the absurd) has its
test here: the form refuses, the URL parameter is a French 400, the service has
the last word, nothing is stored."""

from datetime import UTC, date, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.scoping import practice_scope
from appointments.models import Absence, Appointment, CallMessage
from appointments.services.base import BookingError
from appointments.services.booking import appointment_book, appointment_move
from appointments.services.call_messages import call_message_leave
from appointments.services.schedule import absence_add
from audit import selectors as audit_selectors
from patients.models import Patient
from patients.services import patient_create
from secretariat import inputs
from tests.appointments.helpers import at, booked, booking_world
from tests.factories import as_actor
from tests.patients.helpers import identity

FAR = ("9999-12-31", "0001-01-01")
BIDI = "\u202e"


@pytest.fixture
def setup(world):
    return booking_world(world)


def _manager(world):
    return as_actor(world.users["manager_a"], "practice_manager")


def _tele(world):
    return as_actor(world.users["telesecretary_a"], "telesecretary")


# ---------------------------------------------------------------- the helper


def test_ranges_are_relative_to_today_and_survive_29_february():
    leap = date(2028, 2, 29)
    assert inputs.SCHEDULE.bounds(leap) == (date(2027, 2, 28), date(2030, 2, 28))
    assert inputs.BIRTH_DATE.bounds(leap) == (date(1900, 1, 1), leap)
    assert not inputs.BIRTH_DATE.contains(leap + timedelta(days=1), today=leap)
    assert inputs.HISTORY.contains(date(2018, 3, 1), today=leap)
    assert not inputs.PAST.contains(date(2018, 2, 27), today=leap)


def test_text_check_refuses_controls_and_bidi_keeps_newlines_in_text_areas():
    for char in ("\x00", "\x1b", "\x85", "\u202a", "\u202e", "\u2066", "\u2069"):
        assert not inputs.text_is_clean(f"Dupont{char}", multiline=True)
    assert not inputs.text_is_clean("Dupont\nMartin")
    assert inputs.text_is_clean("Ligne 1\r\n\tLigne 2", multiline=True)
    assert inputs.text_is_clean("Éloïse D'Aubigné-Ñúñez")


# ---------------------------------------------------------------- absences


def _absence_post(world, setup, start: str, end: str):
    url = reverse(
        "appointments:schedule",
        kwargs={"practice": world.practice_a.slug, "practitioner": setup.practitioner.pk},
    )
    data = {
        "action": "absence",
        "start_date": start,
        "start_time": "00:00",
        "end_date": end,
        "end_time": "23:59",
        "reason": "training",
    }
    return world.client("manager_a").post(url, data), url


@pytest.mark.parametrize(("start", "end"), [("0001-01-01", "0001-01-02"), ("today", "9999-12-31")])
def test_absence_out_of_range_is_refused_and_the_practice_still_works(world, setup, start, end):
    today = timezone.localdate().isoformat()
    response, url = _absence_post(world, setup, start.replace("today", today), end)
    assert response.status_code == 400
    assert "Date hors des limites admises" in response.content.decode()
    with practice_scope(world.practice_a):
        assert not Absence.objects.exists()
    # The pages that answered 500 once such a row was stored.
    assert world.client("manager_a").get(url).status_code == 200
    slot_url = reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    assert world.client("telesecretary_a").get(slot_url).status_code == 200


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)),
        (timezone.now(), datetime(9999, 12, 31, tzinfo=UTC)),
    ],
)
def test_absence_service_refuses_out_of_range(world, setup, start, end):
    with practice_scope(world.practice_a), pytest.raises(BookingError, match="hors des limites"):
        absence_add(
            practice=world.practice_a,
            practitioner=setup.practitioner,
            start=start,
            end=end,
            reason="training",
            actor=_manager(world),
        )
    with practice_scope(world.practice_a):
        assert not Absence.objects.exists()


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)),
        (datetime(2030, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)),
    ],
)
def test_database_refuses_an_absence_beyond_its_wall(world, setup, start, end):
    # Behind the service's bounds, migration 0009's check constraint.
    with practice_scope(world.practice_a), pytest.raises(IntegrityError), transaction.atomic():
        Absence.objects.create(
            practice=world.practice_a, practitioner=setup.practitioner, start=start, end=end
        )


# ---------------------------------------------------------------- URL parameters


@pytest.mark.parametrize("name", ["my_day", "my_week", "practice_day"])
@pytest.mark.parametrize("value", [*FAR, "2026-13-45", "demain"])
def test_agenda_day_out_of_range_or_garbage_is_a_french_400(world, name, value):
    url = reverse(f"appointments:{name}", kwargs={"practice": world.practice_a.slug})
    response = world.client("practitioner_a").get(url, {"date": value})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Date hors des limites admises" in body or "Date invalide dans" in body


def test_agenda_day_in_range_still_answers(world):
    url = reverse("appointments:my_day", kwargs={"practice": world.practice_a.slug})
    last_year = (timezone.localdate() - timedelta(days=365)).isoformat()
    assert world.client("practitioner_a").get(url, {"date": last_year}).status_code == 200


@pytest.mark.parametrize("value", FAR)
def test_proposal_filter_out_of_range_is_a_french_400(world, setup, value):
    url = reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    response = world.client("telesecretary_a").get(url, {"a_partir_du": value})
    assert response.status_code == 400
    assert "Date hors des limites admises" in response.content.decode()
    move = reverse(
        "appointments:move",
        kwargs={"practice": world.practice_a.slug, "appointment": booked(world).pk},
    )
    response = world.client("telesecretary_a").get(move, {"a_partir_du": value})
    assert response.status_code == 400


def test_slot_finding_proposes_nothing_from_a_day_out_of_range(world, setup):
    from appointments.slots import find_free_slots

    with practice_scope(world.practice_a):
        found = find_free_slots(
            practice=world.practice_a,
            appointment_type=setup.kind,
            start_from=datetime(9999, 12, 30, tzinfo=UTC),
        )
    assert found == []


# ---------------------------------------------------------------- slots in extreme offsets

EXTREME_SLOTS = ["9999-12-31T23:30:00-23:59", "0001-01-01T00:00:00+23:59"]


@pytest.mark.parametrize("moment", EXTREME_SLOTS)
def test_forged_slot_in_an_extreme_offset_is_refused(world, setup, moment):
    client = world.client("telesecretary_a")
    book = reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    slot = f"{setup.practitioner.pk}|{moment}"
    assert client.post(book, {"slot": slot, "reason": ""}).status_code == 400
    appointment = booked(world)
    move = reverse(
        "appointments:move",
        kwargs={"practice": world.practice_a.slug, "appointment": appointment.pk},
    )
    assert client.post(move, {"slot": slot}).status_code == 400
    with practice_scope(world.practice_a):
        assert list(Appointment.objects.values_list("pk", "start")) == [
            (appointment.pk, appointment.start)
        ]


@pytest.mark.parametrize("moment", EXTREME_SLOTS)
def test_booking_services_refuse_an_extreme_start(world, setup, moment):
    start = datetime.fromisoformat(moment)
    appointment = booked(world)
    with practice_scope(world.practice_a):
        with pytest.raises(BookingError, match="hors des limites"):
            appointment_book(
                practice=world.practice_a,
                practitioner=setup.practitioner,
                patient=setup.patient,
                appointment_type=setup.kind,
                start=start,
                reason="",
                actor=_tele(world),
            )
        with pytest.raises(BookingError, match="hors des limites"):
            appointment_move(appointment=appointment, start=start, actor=_tele(world))
        assert Appointment.objects.count() == 1


def test_booking_three_years_ahead_is_refused(world, setup):
    start = at(setup.monday + timedelta(weeks=3 * 52), 9)
    with practice_scope(world.practice_a), pytest.raises(BookingError, match="hors des limites"):
        appointment_book(
            practice=world.practice_a,
            practitioner=setup.practitioner,
            patient=setup.patient,
            appointment_type=setup.kind,
            start=start,
            reason="",
            actor=_tele(world),
        )


# ---------------------------------------------------------------- audit browser


@pytest.mark.parametrize("value", FAR)
@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("name", ["event_list", "export"])
def test_audit_filters_out_of_range_are_refused(world, name, field, value):
    url = reverse(f"audit:{name}")
    response = world.client("compliance_officer").post(url, {field: value})
    assert response.status_code == 400
    assert "Date hors des limites admises" in response.content.decode()


def test_audit_selector_refuses_out_of_range(world):
    with pytest.raises(ValidationError):
        audit_selectors.filtered_events(date_to=date(9999, 12, 31))


# ---------------------------------------------------------------- patients


def _create_url(world):
    return reverse("patients:create", kwargs={"practice": world.practice_a.slug})


def _patient_post(**overrides):
    data = {
        "last_name": "Durand",
        "first_names": "Alice",
        "birth_date": "12/03/1980",
        "phone": "",
        "confirm_duplicate": "on",
    }
    return data | overrides


@pytest.mark.parametrize(
    "overrides",
    [
        {"birth_date": (timezone.localdate() + timedelta(days=1)).strftime("%d/%m/%Y")},
        {"birth_date": "31/12/1899"},
        {"birth_date": "01/01/0001"},
        {"last_name": f"Durand{BIDI}"},
        {"first_names": "Alice\x1b[31m"},
        {"birth_name": "Martin\u2066"},
        {"address": f"1 rue des Lilas{BIDI}"},
    ],
)
def test_patient_form_refuses_absurd_identity(world, overrides):
    response = world.client("telesecretary_a").post(_create_url(world), _patient_post(**overrides))
    assert response.status_code == 400  # the form again, with its error
    body = response.content.decode()
    assert "Date hors des limites admises" in body or "Caractères de contrôle" in body
    with practice_scope(world.practice_a):
        assert not Patient.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"birth_date": date.today() + timedelta(days=2)},
        {"birth_date": date(1, 1, 1)},
        {"last_name": f"Durand{BIDI}"},
        {"first_names": "Al\u202aice"},
    ],
)
def test_patient_service_refuses_absurd_identity(world, overrides):
    with practice_scope(world.practice_a), pytest.raises(ValidationError):
        patient_create(practice=world.practice_a, identity=identity(**overrides), actor=as_actor())
    with practice_scope(world.practice_a):
        assert not Patient.objects.exists()


# ---------------------------------------------------------------- free text shown to others


def test_call_message_with_bidi_override_is_refused(world, setup):
    url = reverse("appointments:message_new", kwargs={"practice": world.practice_a.slug})
    data = {"practitioner": setup.practitioner.pk, "text": f"Rappeler {BIDI}gnol"}
    response = world.client("telesecretary_a").post(url, data)
    assert response.status_code == 400
    assert "Caractères de contrôle" in response.content.decode()
    with practice_scope(world.practice_a):
        with pytest.raises(BookingError):
            call_message_leave(
                practice=world.practice_a,
                practitioner=setup.practitioner,
                text=f"Rappeler {BIDI}gnol",
                actor=_tele(world),
            )
        assert not CallMessage.objects.exists()


def test_booking_reason_with_control_characters_is_refused(world, setup):
    with practice_scope(world.practice_a), pytest.raises(BookingError, match="Caractères"):
        appointment_book(
            practice=world.practice_a,
            practitioner=setup.practitioner,
            patient=setup.patient,
            appointment_type=setup.kind,
            start=at(setup.monday, 9),
            reason="Toux\x07",
            actor=_tele(world),
        )


def test_extreme_offsets_compare_without_overflow():
    # The check reads the date as given: no conversion to UTC that could overflow.
    far = datetime(9999, 12, 31, 23, 59, tzinfo=dt_timezone(-timedelta(hours=23, minutes=59)))
    assert not inputs.SCHEDULE.contains(far)


# ---------------------------------------------------------------- found by the property tests


def test_otp_code_of_superscript_digits_is_refused_not_a_500(world):
    from django.test import Client

    from tests.accounts.helpers import otp_step, password_step

    world.client("practitioner_a")  # enrols the device
    client = Client()
    password_step(client, world.users["practitioner_a"].username)
    response = otp_step(client, "²²²²²²")
    assert response.status_code == 200
    assert "Code incorrect" in response.content.decode()


@pytest.mark.parametrize("value", ["²", "99999999999999", "-1", "1e3"])
def test_waiting_list_type_that_is_no_id_is_a_french_400(world, value):
    url = reverse("appointments:waiting_list", kwargs={"practice": world.practice_a.slug})
    response = world.client("telesecretary_a").get(url, {"type": value})
    assert response.status_code == 400
    assert "Identifiant invalide" in response.content.decode()


def test_invitation_username_with_a_trailing_newline_is_refused():
    from onboarding.forms import InvitationAcceptForm

    password = "une phrase de passe solide"
    form = InvitationAcceptForm(
        data={"username": "lea.roy\n", "password1": password, "password2": password}
    )
    assert "username" in form.errors


@pytest.mark.parametrize(("field", "value"), [("siret", "²" * 14), ("finess", "é" * 9)])
def test_practice_numbers_are_ascii(db, field, value):
    from onboarding.forms import PracticeIdentityForm

    form = PracticeIdentityForm(data={"name": "Cabinet", "slug": "cabinet", field: value})
    assert field in form.errors


# ---------------------------------------------------------------- the call console's panel


def _console_patient(world, setup) -> str:
    return reverse(
        "console:patient", kwargs={"practice": world.practice_a.slug, "patient": setup.patient.pk}
    )


@pytest.mark.parametrize("value", FAR)
def test_console_panel_day_out_of_range_is_a_french_400(world, setup, value):
    response = world.client("telesecretary_a").get(
        _console_patient(world, setup), {"a_partir_du": value}
    )
    assert response.status_code == 400
    assert "Date hors des limites admises" in response.content.decode()


def test_console_panel_practitioner_of_superscript_digits_is_not_a_500(world, setup):
    response = world.client("telesecretary_a").get(
        _console_patient(world, setup), {"praticien": "²"}
    )
    assert response.status_code == 200
