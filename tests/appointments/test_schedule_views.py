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


def _my_url(world, name: str = "appointments:my_schedule", **kwargs) -> str:
    return reverse(name, kwargs={"practice": world.practice_a.slug, **kwargs})


def _colleague(world):
    """A second practitioner of practice A, with their own hours and an absence."""
    from accounts.roles import Role
    from tests.appointments.helpers import absence, schedule
    from tests.factories import UserFactory, grant

    colleague = grant(UserFactory(username="dr_colleague"), Role.PRACTITIONER, world.practice_a)
    with practice_scope(world.practice_a):
        schedule(world.practice_a, colleague)
        hours = WorkingHours.objects.filter(practitioner=colleague).first()
        away = absence(
            world.practice_a,
            colleague,
            at(booking_world(world).monday, 8),
            at(booking_world(world).monday, 12),
        )
    return colleague, hours, away


def test_practitioner_sets_own_hours_and_absences_audited(world, setup):
    from audit.models import AuditEvent

    client = world.client("practitioner_a")
    me = world.users["practitioner_a"]
    home = client.get(reverse("accounts:practice_home", args=[world.practice_a.slug]))
    assert _my_url(world) in home.content.decode()
    assert client.get(_my_url(world)).status_code == 200
    added = client.post(
        _my_url(world),
        {"action": "hours", "weekday": 5, "start_time": "08:00", "end_time": "12:00"},
    )
    assert added.status_code == 302
    day = setup.monday.isoformat()
    away = client.post(
        _my_url(world),
        {
            "action": "absence",
            "start_date": day,
            "start_time": "08:00",
            "end_date": day,
            "end_time": "12:00",
            "reason": "training",
        },
    )
    assert away.status_code == 302
    with practice_scope(world.practice_a):
        saturday = WorkingHours.objects.get(practitioner=me, weekday=5)
        absence = Absence.objects.get(practitioner=me)
    events = AuditEvent.objects.filter(actor=me, action="create", role="practitioner")
    assert set(events.values_list("object_type", flat=True)) >= {"working_hours", "absence"}
    # The slot grid stays the manager's: a practitioner's post of it changes nothing.
    assert client.post(_my_url(world), {"action": "slot", "slot_minutes": 30}).status_code == 400
    with practice_scope(world.practice_a):
        assert not PractitionerSettings.objects.filter(practitioner=me, slot_minutes=30).exists()
    hours_delete = _my_url(world, "appointments:my_hours_delete", hours=saturday.pk)
    assert client.post(hours_delete).status_code == 302
    absence_delete = _my_url(world, "appointments:my_absence_delete", absence=absence.pk)
    assert client.post(absence_delete).status_code == 302
    with practice_scope(world.practice_a):
        assert not WorkingHours.objects.filter(pk=saturday.pk).exists()
        assert not Absence.objects.filter(pk=absence.pk).exists()
    assert AuditEvent.objects.filter(actor=me, action="delete", role="practitioner").count() == 2


def test_practitioner_cannot_change_a_colleagues_hours_or_absences(world, setup):
    colleague, hours, away = _colleague(world)
    client = world.client("practitioner_a")
    colleague_page = reverse(
        "appointments:schedule",
        kwargs={"practice": world.practice_a.slug, "practitioner": colleague.pk},
    )
    assert client.get(colleague_page).status_code == 403
    assert client.post(colleague_page, {"action": "hours", "weekday": 5}).status_code == 403
    for url in (
        _my_url(world, "appointments:my_hours_delete", hours=hours.pk),
        _my_url(world, "appointments:my_absence_delete", absence=away.pk),
        reverse("appointments:hours_delete", args=[world.practice_a.slug, hours.pk]),
        reverse("appointments:absence_delete", args=[world.practice_a.slug, away.pk]),
    ):
        assert client.post(url).status_code in (403, 404), url
    with practice_scope(world.practice_a):
        assert WorkingHours.objects.filter(pk=hours.pk).exists()
        assert Absence.objects.filter(pk=away.pk).exists()
    # The manager still edits everyone's.
    manager = world.client("manager_a")
    assert (
        manager.post(
            reverse("appointments:hours_delete", args=[world.practice_a.slug, hours.pk])
        ).status_code
        == 302
    )


def test_migration_grants_practitioners_of_existing_practices_their_own_schedule(world, setup):
    """Practices made before the permission existed: their practitioner groups
    get it from accounts migration 0008 (new groups get it from the role table)."""
    import importlib

    from django.apps import apps
    from guardian.models import GroupObjectPermission

    migration = importlib.import_module("accounts.migrations.0008_practice_own_schedule_permission")
    GroupObjectPermission.objects.filter(permission__codename="manage_own_schedule").delete()
    assert world.client("practitioner_a").get(_my_url(world)).status_code == 403
    migration.grant_practitioners(apps, None)
    assert world.client("practitioner_a").get(_my_url(world)).status_code == 200
    granted = GroupObjectPermission.objects.filter(permission__codename="manage_own_schedule")
    assert {grant.group.name for grant in granted} == {
        f"practice-{world.practice_a.pk}-practitioner",
        f"practice-{world.practice_b.pk}-practitioner",
    }
