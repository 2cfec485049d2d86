"""Recurring series and the waiting list."""

from datetime import UTC, time, timedelta

import pytest
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.forms import slot_value
from appointments.models import Appointment, WaitingListEntry
from appointments.services.base import BookingError, TypeNotBookable
from appointments.services.series import appointment_series_book, appointment_series_cancel
from appointments.services.waiting import waiting_list_add
from tests.appointments.helpers import (
    PARIS,
    absence,
    appointment_type,
    at,
    booked,
    booking_world,
    paris,
    schedule,
)
from tests.factories import as_actor


@pytest.fixture
def setup(world):
    booking = booking_world(world)
    with practice_scope(world.practice_a):
        yield booking


def _series(world, setup, start, every_weeks=1, count=4, **kwargs):
    return appointment_series_book(
        actor=as_actor(world.users["telesecretary_a"], "telesecretary"),
        practice=setup.practice,
        practitioner=setup.practitioner,
        patient=setup.patient,
        appointment_type=kwargs.pop("kind", setup.kind),
        first_start=start,
        every_weeks=every_weeks,
        count=count,
        reason="Rééducation",
    )


def test_series_books_every_occurrence_at_the_same_local_time(world, setup):
    series = _series(world, setup, at(setup.monday, 10), every_weeks=2, count=4)
    rows = list(Appointment.objects.filter(series=series).order_by("start"))
    assert [row.start.astimezone(PARIS).strftime("%a %H:%M") for row in rows] == ["Mon 10:00"] * 4
    assert [(b.start - a.start).days for a, b in zip(rows, rows[1:], strict=False)] == [14] * 3


def test_series_keeps_local_time_across_dst(world, setup):
    # Mondays around the spring change of 28 March 2027.
    series = _series(world, setup, paris(2027, 3, 15, 9, 0), count=4)
    rows = list(Appointment.objects.filter(series=series).order_by("start"))
    assert [row.start.astimezone(PARIS).strftime("%d %H:%M") for row in rows] == [
        "15 09:00",
        "22 09:00",
        "29 09:00",
        "05 09:00",
    ]
    assert rows[1].start.astimezone(UTC).hour == 8 and rows[2].start.astimezone(UTC).hour == 7


def test_series_is_all_or_nothing_and_names_failing_dates(world, setup):
    week3 = setup.monday + timedelta(weeks=2)
    absence(setup.practice, setup.practitioner, at(week3, 0), at(week3, 23))
    with pytest.raises(BookingError) as refused:
        _series(world, setup, at(setup.monday, 10), count=4)
    assert week3.strftime("%d/%m/%Y") in refused.value.message
    assert not Appointment.objects.filter(practice=setup.practice).exists()


def test_series_bounds_and_private_types(world, setup):
    with pytest.raises(BookingError):
        _series(world, setup, at(setup.monday, 10), count=60)
    with pytest.raises(TypeNotBookable):
        _series(world, setup, at(setup.monday, 10), kind=setup.private_kind)


def test_series_cancel_from_one_occurrence_onwards(world, setup):
    series = _series(world, setup, at(setup.monday, 10), count=4)
    rows = list(Appointment.objects.filter(series=series).order_by("start"))
    assert appointment_series_cancel(actor=as_actor(), appointment=rows[1], category="patient") == 3
    statuses = list(
        Appointment.objects.filter(series=series).order_by("start").values_list("status", flat=True)
    )
    assert statuses == ["booked", "cancelled", "cancelled", "cancelled"]


def test_series_through_the_booking_page(world, setup):
    client = world.client("telesecretary_a")
    url = reverse(
        "appointments:book_slot",
        kwargs={
            "practice": world.practice_a.slug,
            "patient": setup.patient.pk,
            "appointment_type": setup.kind.pk,
        },
    )
    slot = slot_value(setup.practitioner.pk, at(setup.monday, 14).astimezone(UTC))
    missing = client.post(url, {"slot": slot, "repeat_weeks": "1"})
    assert missing.status_code == 400
    response = client.post(url, {"slot": slot, "repeat_weeks": "1", "repeat_count": "3"})
    assert response.status_code == 302
    assert Appointment.objects.filter(practice=setup.practice, series__isnull=False).count() == 3


def test_waiting_list_add_is_idempotent_and_resolved_by_booking(world, setup):
    first = waiting_list_add(
        actor=as_actor(),
        practice=setup.practice,
        patient=setup.patient,
        appointment_type=setup.kind,
    )
    again = waiting_list_add(
        actor=as_actor(),
        practice=setup.practice,
        patient=setup.patient,
        appointment_type=setup.kind,
    )
    assert first.pk == again.pk
    booked(world, hour=10)
    first.refresh_from_db()
    assert first.resolved_at is not None


def test_waiting_list_refuses_private_type_to_telesecretary(world, setup):
    with pytest.raises(TypeNotBookable):
        waiting_list_add(
            actor=as_actor(None, "telesecretary"),
            practice=setup.practice,
            patient=setup.patient,
            appointment_type=setup.private_kind,
        )


def test_waiting_list_page_and_cancel_hint(world, setup):
    waiting_list_add(
        actor=as_actor(),
        practice=setup.practice,
        patient=setup.patient,
        appointment_type=setup.kind,
    )
    other = booked(world, hour=11, patient=_other_patient(world))
    client = world.client("telesecretary_a")
    slug = world.practice_a.slug
    page = client.get(reverse("appointments:waiting_list", kwargs={"practice": slug}))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    assert "LEFÈVRE" in page.content.decode()
    cancel_url = reverse("appointments:cancel", kwargs={"practice": slug, "appointment": other.pk})
    response = client.post(cancel_url, {"category": "patient"}, follow=True)
    page = response.content.decode()
    assert "attendent un créneau de ce type" in page
    # The hint is a link to the waiting list of that type, not plain text.
    waiting_url = reverse("appointments:waiting_list", kwargs={"practice": slug})
    assert f'<a href="{waiting_url}?type={setup.kind.pk}">voir la liste d&#x27;attente</a>' in page
    entry = WaitingListEntry.objects.get(practice=setup.practice)
    resolve = reverse("appointments:waiting_resolve", kwargs={"practice": slug, "entry": entry.pk})
    assert client.post(resolve).status_code == 302
    entry.refresh_from_db()
    assert entry.resolved_at is not None


def _other_patient(world):
    from tests.patients.helpers import make_patient

    return make_patient(world.practice_a, last_name="Durand", phone="06 99 99 99 99")


def test_series_on_a_schedule_with_several_ranges(world, setup):
    dr = setup.practitioner
    kind = appointment_type(setup.practice, minutes=20, name="Kiné")
    schedule(setup.practice, dr, {5: [(time(8), time(9))]})
    series = _series(world, setup, at(setup.monday + timedelta(days=5), 8, 30), kind=kind, count=2)
    assert Appointment.objects.filter(series=series).count() == 2


def test_series_cancel_through_the_cancel_page(world, setup):
    series = _series(world, setup, at(setup.monday, 10), count=3)
    first = Appointment.objects.filter(series=series).order_by("start").first()
    url = reverse(
        "appointments:cancel", kwargs={"practice": world.practice_a.slug, "appointment": first.pk}
    )
    client = world.client("telesecretary_a")
    assert "Annuler aussi les rendez-vous suivants" in client.get(url).content.decode()
    assert client.post(url, {"category": "patient", "whole_series": "on"}).status_code == 302
    assert not Appointment.objects.filter(series=series, status="booked").exists()
