"""Each detector fires on a constructed scenario and stays silent on normal use."""

from datetime import UTC, datetime, time, timedelta

import pytest
from freezegun import freeze_time

from accounts.scoping import practice_scope
from audit.context import Actor
from audit.models import Action, Outcome
from audit.services import record_event
from compliance.detectors import detect_suspicious_activity
from compliance.models import Alert, DetectorCursor

# Monday 23 November 2026; Paris is UTC+1 in November.
MONDAY_10_PARIS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

# Events are written at past moments (freezegun): see the fixture.
pytestmark = pytest.mark.usefixtures("audit_clock_unchecked")


def _event(
    world,
    persona,
    moment,
    *,
    action=Action.VIEW,
    object_type="patient",
    object_id=1,
    practice="a",
    ip="10.0.0.1",
    outcome=Outcome.ALLOWED,
):
    practice_obj = {"a": world.practice_a, "b": world.practice_b, None: None}[practice]
    with freeze_time(moment):
        record_event(
            actor=Actor(user=world.users[persona], ip=ip),
            action=action,
            practice=practice_obj,
            object_type=object_type,
            object_id=object_id,
            outcome=outcome,
        )


def _detect(after):
    return detect_suspicious_activity(now=after + timedelta(minutes=5))


def _kinds():
    return sorted(Alert.objects.values_list("kind", flat=True))


@pytest.fixture
def hours(world):
    from appointments.models import WorkingHours

    with practice_scope(world.practice_a):
        for weekday in range(5):
            WorkingHours.objects.create(
                practice=world.practice_a,
                practitioner=world.users["practitioner_a"],
                weekday=weekday,
                start_time=time(9),
                end_time=time(12),
            )
    return world


def test_mass_access_fires_above_the_threshold_and_once(hours, settings):
    settings.SUSPICIOUS_MASS_ACCESS_PATIENTS = 10
    for index in range(11):
        _event(
            hours,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(seconds=20 * index),
            object_id=100 + index,
        )
    end = MONDAY_10_PARIS + timedelta(minutes=4)
    result = _detect(end)
    assert _kinds() == ["mass_access"]
    alert = Alert.objects.get()
    assert alert.subject == hours.users["telesecretary_a"]
    assert alert.practice == hours.practice_a
    assert result["events"] >= 11
    # A rerun reads nothing new and raises nothing new, even from scratch.
    assert _detect(end)["events"] == 0
    DetectorCursor.objects.update(last_event_id=0)
    _detect(end)
    assert Alert.objects.count() == 1


def test_mass_access_silent_at_the_threshold_or_spread_over_time(hours, settings):
    settings.SUSPICIOUS_MASS_ACCESS_PATIENTS = 10
    for index in range(10):  # exactly the threshold, and the same patient again
        _event(
            hours,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(seconds=10 * index),
            object_id=200 + index,
        )
        _event(
            hours,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(seconds=10 * index + 5),
            object_id=200,
        )
    for index in range(15):  # many patients, but one every two minutes
        _event(
            hours,
            "practitioner_a",
            MONDAY_10_PARIS + timedelta(minutes=2 * index),
            object_id=300 + index,
        )
    _detect(MONDAY_10_PARIS + timedelta(minutes=40))
    assert _kinds() == []


def test_off_hours_fires_on_sunday_at_night_and_outside_working_hours(hours):
    sunday = MONDAY_10_PARIS - timedelta(days=1)
    _event(hours, "practitioner_a", sunday, object_id=1)
    _event(hours, "practitioner_a", sunday + timedelta(minutes=5), object_id=2)  # same day: once
    _event(hours, "telesecretary_a", MONDAY_10_PARIS + timedelta(hours=6), object_id=3)  # 16:00
    _event(
        hours,
        "telesecretary_ab",
        MONDAY_10_PARIS + timedelta(days=1, hours=13),
        practice="b",
        object_id=4,
    )  # Tuesday 23:00, practice B has no hours set
    _detect(MONDAY_10_PARIS + timedelta(days=2))
    alerts = Alert.objects.filter(kind="off_hours_access")
    assert sorted((a.subject.username, a.practice.slug) for a in alerts) == [
        ("dr_a", "cabinet-a"),
        ("tele_a", "cabinet-a"),
        ("tele_ab", "cabinet-b"),
    ]


def test_off_hours_silent_within_working_hours_and_margin(hours):
    _event(hours, "practitioner_a", MONDAY_10_PARIS)  # 10:00
    _event(hours, "telesecretary_a", MONDAY_10_PARIS - timedelta(minutes=50))  # 08:10
    _event(hours, "telesecretary_ab", MONDAY_10_PARIS + timedelta(hours=5), practice="b")  # 15:00
    _event(
        hours,
        "practitioner_a",
        MONDAY_10_PARIS + timedelta(hours=12),  # 22:00, no patient
        object_type="practice_settings",
        action=Action.LIST,
    )
    _detect(MONDAY_10_PARIS + timedelta(hours=13))
    assert _kinds() == []


def test_probing_fires_on_five_denials_in_ten_minutes(world):
    for index in range(5):
        _event(
            world,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(minutes=index),
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="url",
        )
    _detect(MONDAY_10_PARIS + timedelta(minutes=5))
    assert _kinds() == ["access_probing"]
    assert Alert.objects.get().subject == world.users["telesecretary_a"]


def test_probing_silent_on_four_denials_or_denials_spread_out(world):
    for index in range(4):
        _event(
            world,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(minutes=index),
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="url",
        )
    for index in range(6):
        _event(
            world,
            "practitioner_a",
            MONDAY_10_PARIS + timedelta(minutes=15 * index),
            action=Action.PERMISSION_DENIED,
            outcome=Outcome.DENIED,
            object_type="url",
        )
    _detect(MONDAY_10_PARIS + timedelta(hours=2))
    assert _kinds() == []


def test_lockout_fires_once_an_hour(world):
    for index in range(3):
        _event(
            world,
            "telesecretary_a",
            MONDAY_10_PARIS + timedelta(minutes=index),
            action=Action.LOCKOUT,
            outcome=Outcome.DENIED,
            practice=None,
            object_type="",
        )
    _detect(MONDAY_10_PARIS + timedelta(minutes=5))
    assert _kinds() == ["lockout"]


def test_new_ip_fires_on_a_login_from_an_unseen_address(world):
    for index, ip in enumerate(["10.0.0.1", "10.0.0.1", "10.0.0.2"]):
        _event(
            world,
            "practitioner_a",
            MONDAY_10_PARIS + timedelta(days=index),
            action=Action.LOGIN,
            practice=None,
            object_type="",
            ip=ip,
        )
    _detect(MONDAY_10_PARIS + timedelta(days=3))
    alert = Alert.objects.get()
    assert (alert.kind, alert.detail["ip"]) == ("new_ip", "10.0.0.2")


def test_new_ip_silent_on_first_login_and_known_address(world):
    _event(
        world,
        "practitioner_a",
        MONDAY_10_PARIS,
        action=Action.LOGIN,
        practice=None,
        object_type="",
        ip="10.0.0.9",
    )
    _event(
        world,
        "practitioner_a",
        MONDAY_10_PARIS + timedelta(days=80),
        action=Action.LOGIN,
        practice=None,
        object_type="",
        ip="10.0.0.9",
    )
    _detect(MONDAY_10_PARIS + timedelta(days=81))
    assert _kinds() == []


def test_events_still_committing_are_left_for_the_next_pass(world):
    _event(world, "practitioner_a", MONDAY_10_PARIS)
    assert detect_suspicious_activity(now=MONDAY_10_PARIS + timedelta(seconds=10))["events"] == 0
    assert _detect(MONDAY_10_PARIS)["events"] >= 1


def test_detection_task_runs_a_pass(world):
    from compliance.tasks import detect_suspicious_activity as task

    assert task.apply().get()["skipped"] is False
