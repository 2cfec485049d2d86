"""patient_access_events: the practice-side "who accessed this patient" helper."""

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from freezegun import freeze_time

from audit.models import AuditEvent
from audit.selectors import filtered_events, patient_access_events, patient_access_page
from audit.services import record_event
from tests.factories import PracticeFactory, as_actor


def _event(world, practice, **kwargs) -> int:
    return record_event(
        actor=as_actor(kwargs.pop("actor", world.users["telesecretary_ab"])),
        action=kwargs.pop("action", "view"),
        practice=practice,
        **kwargs,
    ).id


@pytest.fixture
def events(world) -> dict:
    a, b = world.practice_a, world.practice_b
    return {
        "view": _event(world, a, object_type="patient", object_id=42),
        "update": _event(world, a, action="update", object_type="patient", object_id=42),
        "search_int": _event(
            world, a, action="search", object_type="patient", detail={"patient_ids": [7, 42]}
        ),
        "list_str": _event(
            world, a, action="list", object_type="patient", detail={"patient_ids": ["42"]}
        ),
        "other_patient": _event(world, a, object_type="patient", object_id=420),
        "other_listed": _event(world, a, action="search", detail={"patient_ids": [4, 420]}),
        "appointment_42": _event(world, a, object_type="appointment", object_id=42),
        "other_practice": _event(world, b, object_type="patient", object_id=42),
        "other_practice_listed": _event(
            world, b, action="search", object_type="patient", detail={"patient_ids": [42]}
        ),
    }


def test_patient_access_events_lists_reads_changes_and_listings_newest_first(world, events):
    found = list(patient_access_events(world.practice_a, 42).values_list("id", flat=True))
    expected = [events[k] for k in ("view", "update", "search_int", "list_str")]
    assert found == sorted(expected, reverse=True)


def test_patient_access_events_never_returns_another_practices_events(world, events):
    found = set(patient_access_events(world.practice_b, 42).values_list("id", flat=True))
    assert found == {events["other_practice"], events["other_practice_listed"]}


def test_patient_access_events_accepts_the_id_as_text(world, events):
    as_int = list(patient_access_events(world.practice_a, 42))
    assert list(patient_access_events(world.practice_a, "42")) == as_int


def test_patient_access_events_of_an_unknown_patient_is_empty(world, events):
    assert not patient_access_events(world.practice_a, 999).exists()
    assert not patient_access_events(world.practice_a, "x' OR '1'='1").exists()


def test_patient_access_events_carry_who_and_as_which_role(world, events):
    event = patient_access_events(world.practice_a, 42).get(pk=events["view"])
    assert event.actor == world.users["telesecretary_ab"]
    assert (event.action, event.outcome) == ("view", "allowed")


def test_patient_access_events_is_one_query(world, events, django_assert_num_queries):
    with django_assert_num_queries(1):
        list(patient_access_events(world.practice_a, 42))


def test_patient_access_page_walks_the_same_events_page_by_page(world, events):
    for _number in range(3):  # more of both halves than a page holds
        events[f"view{_number}"] = _event(
            world, world.practice_a, object_id=42, object_type="patient"
        )
        _event(world, world.practice_a, action="list", detail={"patient_ids": [42]})
    expected = list(patient_access_events(world.practice_a, 42).values_list("id", flat=True))
    walked, after = [], None
    while True:
        page, after = patient_access_page(world.practice_a, 42, after=after, size=3)
        walked += [event.pk for event in page]
        if after is None:
            break
    assert walked == expected
    assert len(expected) == 10
    assert events["other_practice_listed"] not in walked


def test_patient_access_page_is_a_fixed_number_of_queries(world, events, django_assert_num_queries):
    with django_assert_num_queries(3):  # each half, then the page with its practices
        patient_access_page(world.practice_a, 42)


def test_patient_access_events_uses_the_patient_ids_index(world, events):
    # The containment half once matched no index and the report walked every
    # partition (0.9-2 s at 10M events). The expression Django writes for it
    # must be the indexed one: with plain scans priced out, the plan reaches the
    # listed ids through the GIN index (its copy on each partition). On a table
    # this small the whole report rightly prefers the practice index; at 10M
    # events it is a BitmapOr of this index and the object one (bench.audit).
    query = AuditEvent.objects.filter(detail__patient_ids__contains=["42"])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'audit_patient_ids_gin'::regclass"
        )
        gin_indexes = {name for (name,) in cursor.fetchall()}
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = query.explain()
    assert gin_indexes
    assert any(f"Bitmap Index Scan on {name}" in plan for name in gin_indexes), plan


@pytest.mark.parametrize(
    ("moment", "local_day"),
    [
        # The last microsecond of a Paris day and its next midnight, in winter
        # (UTC+1) and in summer (UTC+2).
        ("2026-01-14T22:59:59.999999Z", date(2026, 1, 14)),
        ("2026-01-14T23:00:00Z", date(2026, 1, 15)),
        ("2026-07-15T21:59:59.999999Z", date(2026, 7, 15)),
        ("2026-07-15T22:00:00Z", date(2026, 7, 16)),
    ],
)
def test_filtered_events_dates_are_local_calendar_days_both_ends_included(
    world, moment, local_day, audit_clock_unchecked
):
    with freeze_time(moment):
        # A practice of that time: its chain's events do not go back in time.
        practice = PracticeFactory()
        event = _event(world, practice, object_type="patient", object_id=42)

    def found(**dates) -> bool:
        return filtered_events(practice=practice, **dates).filter(pk=event).exists()

    day = timedelta(days=1)
    assert found(date_from=local_day, date_to=local_day)
    assert not found(date_from=local_day + day)
    assert not found(date_to=local_day - day)
    assert found(date_from=local_day - day, date_to=local_day + day)


def test_filtered_events_by_username_are_that_users_events_only(world):
    author = world.users["practitioner_b"]
    mine = _event(world, world.practice_b, actor=author, object_type="patient", object_id=1)
    _event(world, world.practice_a, object_type="patient", object_id=2)

    assert list(filtered_events(user=author.username).values_list("id", flat=True)) == [mine]
    assert not filtered_events(user="nobody-by-that-name").exists()
