"""The compliance officer's audit browser."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from tests.factories import as_actor

LIST = reverse("audit:event_list")


@pytest.fixture
def officer(world):
    return world.client("compliance_officer")


def _reads(world, count: int, practice=None, **kwargs) -> list[int]:
    practice = practice or world.practice_a
    return [
        record_event(
            actor=as_actor(kwargs.get("actor", world.users["telesecretary_a"])),
            action=kwargs.get("action", "view"),
            practice=practice,
            object_type=kwargs.get("object_type", "patient"),
            object_id=kwargs.get("object_id", 100 + number),
            outcome=kwargs.get("outcome", "allowed"),
        ).id
        for number in range(count)
    ]


def _ids(response) -> list[int]:
    return [event.pk for event in response.context["events"]]


def test_event_list_shows_newest_first_and_records_the_read(world, officer):
    ids = _reads(world, 3)
    response = officer.get(LIST)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    shown = _ids(response)
    assert shown == sorted(shown, reverse=True)
    assert set(ids) <= set(shown)
    event = AuditEvent.objects.latest("id")
    assert (event.action, event.object_type, event.actor) == (
        "list",
        "audit_event",
        world.users["compliance_officer"],
    )
    assert event.practice_id is None
    assert event.chain.key == "platform"


def test_event_list_paginates_by_keyset_without_offset(world, officer):
    ids = _reads(world, 60)
    data = {"practice": world.practice_a.pk, "object_type": "patient"}
    with CaptureQueriesContext(connection) as queries:
        first = officer.post(LIST, data)
    assert _ids(first) == sorted(ids, reverse=True)[:50]
    assert first.context["next_after"] == sorted(ids, reverse=True)[49]
    assert not any("OFFSET" in query["sql"] for query in queries.captured_queries)
    body = first.content.decode()
    assert f'name="after" value="{first.context["next_after"]}"' in body

    second = officer.post(LIST, {**data, "after": first.context["next_after"]})
    assert _ids(second) == sorted(ids, reverse=True)[50:]
    assert second.context["next_after"] is None


def test_event_list_query_count_does_not_grow_with_rows(
    world, officer, django_assert_max_num_queries
):
    _reads(world, 3)
    with CaptureQueriesContext(connection) as few:
        officer.get(LIST)
    _reads(world, 40, practice=world.practice_b)
    with django_assert_max_num_queries(len(few.captured_queries)):
        officer.get(LIST)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"user": "dr_b"}, "by_b"),
        ({"object_type": "patient", "object_id": "777"}, "patient_777"),
        ({"action": "update"}, "update"),
        ({"outcome": "denied"}, "denied"),
        ("practice_b", "practice_b"),
    ],
    ids=["user", "object", "action", "outcome", "practice"],
)
def test_event_list_filters(world, officer, filters, expected):
    made = {
        "by_b": _reads(world, 1, practice=world.practice_b, actor=world.users["practitioner_b"]),
        "patient_777": _reads(world, 1, object_id=777),
        "update": _reads(world, 1, action="update", object_id=5),
        "denied": _reads(world, 1, outcome="denied", object_id=6),
    }
    _reads(world, 2)
    if filters == "practice_b":
        filters = {"practice": world.practice_b.pk}
        made["practice_b"] = list(
            AuditEvent.objects.filter(practice=world.practice_b).values_list("id", flat=True)
        )
    response = officer.post(LIST, filters)
    assert response.status_code == 200
    assert sorted(_ids(response)) == sorted(made[expected])


def test_event_list_filters_by_date_range(world, officer):
    _reads(world, 2)
    today = timezone.localdate()
    assert _ids(officer.post(LIST, {"date_from": today, "date_to": today}))
    yesterday = today - timedelta(days=1)
    assert _ids(officer.post(LIST, {"date_to": yesterday})) == []


def test_event_list_refuses_an_inverted_date_range_in_french(world, officer):
    today = timezone.localdate()
    response = officer.post(LIST, {"date_from": today, "date_to": today - timedelta(days=2)})
    assert response.status_code == 400
    assert "La date de début doit précéder la date de fin." in response.content.decode()


def test_event_list_refuses_hostile_input(world, officer):
    response = officer.post(LIST, {"practice": "1 OR 1=1", "after": "-5", "action": "drop"})
    assert response.status_code == 400
    assert response.context["events"] == []


def test_event_list_filters_are_recorded_as_identifiers(world, officer):
    officer.post(LIST, {"practice": world.practice_a.pk, "object_type": "patient", "object_id": 9})
    event = AuditEvent.objects.latest("id")
    assert event.detail == {
        "practice": world.practice_a.pk,
        "object_type": "patient",
        "object_id": "9",
        "count": 0,
    }


def test_event_detail_shows_the_event_and_records_the_view(world, officer):
    event_id = _reads(world, 1, object_id=4242)[0]
    response = officer.get(reverse("audit:event_detail", args=[event_id]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert ">4242<" in body
    assert AuditEvent.objects.get(pk=event_id).hash in body
    latest = AuditEvent.objects.latest("id")
    assert (latest.action, latest.object_type, latest.object_id) == (
        "view",
        "audit_event",
        str(event_id),
    )


def test_event_detail_of_a_missing_event_is_404(world, officer):
    response = officer.get(reverse("audit:event_detail", args=[10**9]))
    assert response.status_code == 404


def test_patient_access_report_lists_only_that_patient_in_that_practice(world, officer):
    url = reverse("audit:patient_access")
    patient, other = str(uuid.uuid4()), str(uuid.uuid4())
    about = _reads(world, 2, object_id=patient)
    listed = record_event(
        actor=as_actor(world.users["practitioner_a"]),
        action="search",
        practice=world.practice_a,
        object_type="patient",
        detail={"patient_ids": [other, patient], "count": 2},
    ).id
    _reads(world, 1, object_id=other)
    _reads(world, 1, object_id=patient[:8])  # a prefix of the id
    _reads(world, 1, object_id=patient, practice=world.practice_b)  # same id, other practice

    response = officer.post(url, {"practice": world.practice_a.pk, "patient_id": patient})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert _ids(response) == sorted([*about, listed], reverse=True)
    latest = AuditEvent.objects.latest("id")
    assert latest.object_type == "audit_patient_report"
    assert latest.detail == {"practice": world.practice_a.pk, "patient": patient, "count": 3}
    # The patient's id is in the POST body only, never in a URL.
    assert patient not in url


def test_patient_access_form_alone_records_nothing_and_refuses_bad_input(world, officer):
    url = reverse("audit:patient_access")
    before = AuditEvent.objects.count()
    assert officer.get(url).status_code == 200
    assert AuditEvent.objects.count() == before
    response = officer.post(url, {"practice": world.practice_a.pk, "patient_id": "Dupont"})
    assert response.status_code == 400


def test_csv_export_streams_the_filtered_view_and_is_audited_first(world, officer):
    ids = _reads(world, 3, object_id=8)
    _reads(world, 2, practice=world.practice_b)
    record_event(
        actor=as_actor(world.users["telesecretary_a"]),
        action="view",
        practice=world.practice_a,
        object_type="patient",
        object_id="=HYPERLINK(1)",
    )

    response = officer.post(
        reverse("audit:export"), {"practice": world.practice_a.pk, "object_id": "8"}
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"].startswith("text/csv")
    export = AuditEvent.objects.filter(action="export").get()
    assert export.detail == {"practice": world.practice_a.pk, "object_id": "8", "format": "csv"}
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "chaine", "seq"]
    assert [int(row[0]) for row in rows[1:]] == sorted(ids, reverse=True)


def test_csv_export_neutralises_formulas(world, officer):
    record_event(
        actor=as_actor(world.users["telesecretary_a"]),
        action="view",
        practice=world.practice_a,
        object_type="patient",
        object_id="=HYPERLINK(1)",
    )
    response = officer.post(reverse("audit:export"), {"object_id": "=HYPERLINK(1)"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][9] == "'=HYPERLINK(1)"


def test_csv_export_by_get_is_refused(world, officer):
    assert officer.get(reverse("audit:export")).status_code == 405


def test_home_page_links_the_audit_trail_for_compliance_officers_only(world):
    link = f'href="{LIST}"'
    assert link in world.client("compliance_officer").get(reverse("accounts:home")).content.decode()
    for persona in ("platform_admin", "practitioner_a", "no_role"):
        body = world.client(persona).get(reverse("accounts:home")).content.decode()
        assert link not in body, persona


def test_a_compliance_officer_whose_role_ended_loses_access(world):
    from accounts.models import Membership

    client = world.client("compliance_officer")
    Membership.objects.filter(user=world.users["compliance_officer"]).update(
        ends_on=timezone.localdate() - timedelta(days=1)
    )
    assert client.get(LIST).status_code == 403
