"""What record_event writes, what it refuses, and denied access."""

import pytest
from django.urls import reverse

from audit.models import AuditChain, AuditEvent
from audit.services import AuditDetailError, record_event
from tests.factories import PracticeFactory, as_actor


@pytest.fixture
def practice(db):
    return PracticeFactory()


@pytest.mark.parametrize(
    "detail",
    [
        {"reason": "Patient se plaint de douleurs thoraciques depuis trois jours, " * 2},
        {"count": 38.5},
        {"patient": {"last_name": "Dupont"}},
        {"patients": [{"last_name": "Dupont"}]},
        {"day": __import__("datetime").date(1970, 1, 1)},
        {"patient_ids": [1, 2.5]},
    ],
    ids=["long-string", "float", "dict", "list-of-dicts", "date", "list-with-float"],
)
def test_record_event_refuses_details_that_could_hold_health_data(practice, detail):
    before = AuditEvent.objects.count()
    with pytest.raises(AuditDetailError):
        record_event(
            actor=as_actor(),
            action="update",
            practice=practice,
            object_type="patient",
            detail=detail,
        )
    assert AuditEvent.objects.count() == before


def test_record_event_accepts_identifiers_counts_and_flags(practice):
    appended = record_event(
        actor=as_actor(),
        action="export",
        practice=practice,
        object_type="patient",
        object_id=12,
        detail={
            "count": 3,
            "patient_ids": [1, 2, "a-3"],
            "format": "csv",
            "restricted": False,
            "latest": None,
        },
    )
    event = AuditEvent.objects.get(pk=appended.id)
    assert event.detail == {
        "count": 3,
        "patient_ids": [1, 2, "a-3"],
        "format": "csv",
        "restricted": False,
        "latest": None,
    }
    assert event.object_id == "12"
    assert event.chain.key == f"practice:{practice.pk}"


@pytest.mark.parametrize(
    ("object_type", "detail"),
    [("patient", {"temperature_reading": 1}), ("patient_temperature", {"count": 1})],
    ids=["unnamed-key", "unknown-object-type"],
)
def test_record_event_refuses_what_no_french_label_names(practice, object_type, detail):
    """Every key and object type has its words in audit/labels.py and ObjectType
    (issue 13 item 7): an unnamed one would reach a French page as a code."""
    before = AuditEvent.objects.count()
    with pytest.raises(AuditDetailError, match="temperature"):
        record_event(
            actor=as_actor(),
            action="view",
            practice=practice,
            object_type=object_type,
            detail=detail,
        )
    assert AuditEvent.objects.count() == before


def test_record_event_without_practice_goes_to_the_platform_chain(db):
    appended = record_event(actor=as_actor(), action="login")
    assert AuditEvent.objects.get(pk=appended.id).chain.key == "platform"


def test_denied_access_to_another_practice_is_recorded_in_the_platform_chain(world):
    user = world.users["telesecretary_a"]
    client = world.client("telesecretary_a")

    response = client.get(reverse("accounts:practice_home", args=[world.practice_b.slug]))

    assert response.status_code == 404
    event = AuditEvent.objects.filter(action="permission_denied").latest("id")
    assert event.chain == AuditChain.objects.get(key="platform")
    assert (event.actor_id, event.outcome, event.practice_id) == (user.pk, "denied", None)
    assert event.detail == {"status": 404}
    # The refusal names no other practice: the slug is not recorded.
    assert world.practice_b.slug not in str(event.detail)
    assert event.object_id != world.practice_b.slug


def test_denied_access_of_a_user_without_any_role_is_recorded(world):
    response = world.client("no_role").get(
        reverse("accounts:practice_home", args=[world.practice_a.slug])
    )
    assert response.status_code == 404
    event = AuditEvent.objects.filter(action="permission_denied").latest("id")
    assert (event.actor_id, event.outcome) == (world.users["no_role"].pk, "denied")


def test_denied_access_of_an_anonymous_user_writes_nothing(world):
    before = AuditEvent.objects.count()
    response = world.client("anonymous").get(
        reverse("accounts:practice_home", args=[world.practice_b.slug])
    )
    assert response.status_code == 302
    assert AuditEvent.objects.count() == before
