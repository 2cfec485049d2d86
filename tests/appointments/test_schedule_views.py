"""The practice manager's pages: types, working hours, granularity, absences."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.scoping import practice_scope
from appointments.models import Absence, AppointmentType, PractitionerSettings, WorkingHours
from appointments.slots import find_free_slots
from tests.appointments.helpers import PARIS, at, booked, booking_world


@pytest.fixture
def setup(world):
    return booking_world(world)


def _schedule_url(world, setup) -> str:
    return reverse(
        "appointments:schedule",
        kwargs={"practice": world.practice_a.slug, "practitioner": setup.practitioner.pk},
    )


def test_manager_adds_hours_and_overlaps_are_refused(world, setup):
    client = world.client("manager_a")
    url = _schedule_url(world, setup)
    ok = client.post(
        url, {"action": "hours", "weekday": 5, "start_time": "08:00", "end_time": "12:00"}
    )
    assert ok.status_code == 302
    overlap = client.post(
        url, {"action": "hours", "weekday": 5, "start_time": "11:00", "end_time": "13:00"}
    )
    assert overlap.status_code == 400
    assert "chevauche" in overlap.content.decode()
    backwards = client.post(
        url, {"action": "hours", "weekday": 6, "start_time": "11:00", "end_time": "10:00"}
    )
    assert backwards.status_code == 400
    with practice_scope(world.practice_a):
        saturday = WorkingHours.objects.filter(practitioner=setup.practitioner, weekday=5)
        assert [(h.start_time.hour, h.end_time.hour) for h in saturday] == [(8, 12)]


def test_manager_sets_granularity_used_by_slot_finding(world, setup):
    client = world.client("manager_a")
    response = client.post(_schedule_url(world, setup), {"action": "slot", "slot_minutes": 30})
    assert response.status_code == 302
    with practice_scope(world.practice_a):
        assert PractitionerSettings.objects.get(practitioner=setup.practitioner).slot_minutes == 30
        slots = find_free_slots(
            practice=world.practice_a,
            appointment_type=setup.kind,
            practitioner=setup.practitioner,
            start_from=at(setup.monday, 7),
            count=3,
        )
    assert [s.start.astimezone(PARIS).strftime("%H:%M") for s in slots] == [
        "09:00",
        "09:30",
        "10:00",
    ]


def test_manager_adds_absence_and_is_warned_of_booked_appointments(world, setup):
    booked(world, hour=10)
    client = world.client("manager_a")
    day = setup.monday.isoformat()
    response = client.post(
        _schedule_url(world, setup),
        {
            "action": "absence",
            "start_date": day,
            "start_time": "08:00",
            "end_date": day,
            "end_time": "18:00",
            "reason": "training",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "1 rendez-vous sont prévus pendant cette absence" in page
    assert "LEFÈVRE" not in page  # the manager's pages carry no patient identity
    with practice_scope(world.practice_a):
        absence = Absence.objects.get(practitioner=setup.practitioner)
    assert absence.start == at(setup.monday, 8) and absence.end == at(setup.monday, 18)


def test_type_form_cannot_move_a_type_to_another_practice(world, setup):
    client = world.client("manager_a")
    url = reverse("appointments:type_new", kwargs={"practice": world.practice_a.slug})
    response = client.post(
        url,
        {
            "name": "Vaccination",
            "duration_minutes": 10,
            "colour": "green",
            "practice": world.practice_b.pk,
            "active": "on",
        },
    )
    assert response.status_code == 302
    with practice_scope(world.practice_a):
        created = AppointmentType.objects.get(practice=world.practice_a, name="Vaccination")
    assert created.practice_id == world.practice_a.pk
    assert created.bookable_by_telesecretary is False  # unchecked box
    bad = client.post(url, {"name": "", "duration_minutes": 1, "colour": "pink"})
    assert bad.status_code == 400


def _type_post(client, world, kind=None, **fields):
    kwargs = {"practice": world.practice_a.slug}
    if kind is None:
        url = reverse("appointments:type_new", kwargs=kwargs)
    else:
        url = reverse("appointments:type_edit", kwargs={**kwargs, "appointment_type": kind.pk})
    data = {"name": "Vaccination", "duration_minutes": 10, "colour": "green", **fields}
    return client.post(url, data)


def _defaults(world) -> list[str]:
    with practice_scope(world.practice_a):
        return list(
            AppointmentType.objects.filter(practice=world.practice_a, is_default=True).values_list(
                "name", flat=True
            )
        )


def test_type_default_moves_from_one_type_to_the_next(world, setup):
    client = world.client("manager_a")
    first = _type_post(client, world, active="on", bookable_by_telesecretary="on", is_default="on")
    assert first.status_code == 302
    assert _defaults(world) == ["Vaccination"]
    again = _type_post(
        client,
        world,
        setup.kind,
        name="Consultation",
        active="on",
        bookable_by_telesecretary="on",
        is_default="on",
    )
    assert again.status_code == 302
    assert _defaults(world) == ["Consultation"]
    page = client.get(reverse("appointments:settings", kwargs={"practice": world.practice_a.slug}))
    assert "proposé par défaut au téléphone" in page.content.decode()


def test_type_default_refused_when_the_telesecretary_cannot_book_it(world, setup):
    response = _type_post(world.client("manager_a"), world, active="on", is_default="on")
    assert response.status_code == 400
    assert "réservable par le télésecrétariat" in response.content.decode()
    assert _defaults(world) == []
    with practice_scope(world.practice_a):
        assert not AppointmentType.objects.filter(name="Vaccination").exists()


def test_type_default_is_one_per_practice_in_the_database(world, setup):
    with practice_scope(world.practice_a):
        AppointmentType.objects.filter(pk=setup.kind.pk).update(is_default=True)
        with pytest.raises(IntegrityError), transaction.atomic():
            AppointmentType.objects.filter(pk=setup.private_kind.pk).update(is_default=True)
