"""The fixed cost of a request (issue 18 item 1): the main pages stay within a
number of queries, permissions are read once per request, the session and its
activity stamp are written only when due, and the audit append is one statement.

The limits are the counts measured when the cost was cut: a change that adds a
query to every page fails here instead of sliding unnoticed."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import remove_perm

from accounts.models import UserSession
from accounts.roles import Role, practice_group_name
from accounts.sessions import SESSION_LAST_SEEN, session_end
from tests.appointments.helpers import booked, booking_world

pytestmark = pytest.mark.django_db

# page: (persona, most queries for the second visit)
LIMITS = {
    "card": ("telesecretary_a", 12),
    "search": ("telesecretary_a", 12),
    "my_day": ("practitioner_a", 12),
    "my_week": ("practitioner_a", 12),
    "practice_day": ("telesecretary_a", 12),
    "proposals": ("telesecretary_a", 15),
    "appointment": ("telesecretary_a", 13),
    "home": ("telesecretary_a", 9),
}


def _urls(world) -> dict[str, str]:
    setup = booking_world(world)
    appointment = booked(world)
    slug = world.practice_a.slug
    patient = {"practice": slug, "patient": setup.patient.pk}
    return {
        "card": reverse("patients:detail", kwargs=patient),
        "search": reverse("patients:search", kwargs={"practice": slug}) + "?q=dupont",
        "my_day": reverse("appointments:my_day", kwargs={"practice": slug}),
        "my_week": reverse("appointments:my_week", kwargs={"practice": slug}),
        "practice_day": reverse("appointments:practice_day", kwargs={"practice": slug}),
        "proposals": reverse(
            "appointments:book_slot", kwargs={**patient, "appointment_type": setup.kind.pk}
        ),
        "appointment": reverse(
            "appointments:detail", kwargs={"practice": slug, "appointment": appointment.pk}
        ),
        "home": reverse("accounts:home"),
    }


def _writes(queries) -> list[str]:
    """The tables written by plain writes, as 'UPDATE "table"'."""
    return [
        " ".join(q["sql"].split()[:2] if q["sql"].startswith("UPDATE") else q["sql"].split()[:3])
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


@pytest.mark.parametrize("page", sorted(LIMITS))
def test_main_page_stays_within_its_query_count(world, page, django_assert_max_num_queries):
    persona, limit = LIMITS[page]
    url = _urls(world)[page]
    client = world.client(persona)
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(limit):
        response = client.get(url)
    assert response.status_code == 200


def test_page_view_writes_only_its_audit_event(world):
    url = _urls(world)["card"]
    client = world.client("telesecretary_a")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    appends = [q for q in queries.captured_queries if "INSERT INTO audit_auditevent" in q["sql"]]
    # The append (WITH … INSERT) is the one write, found by the chain's key.
    assert len(appends) == 1
    assert _writes(queries) == []
    assert not [q for q in queries.captured_queries if '"audit_auditchain"."id"' in q["sql"]]


def test_practice_permissions_are_read_once_per_request(world):
    url = _urls(world)["card"]  # the decorator and four buttons ask
    client = world.client("telesecretary_a")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    permission_reads = [q for q in queries.captured_queries if "auth_permission" in q["sql"]]
    assert len(permission_reads) == 1


def test_grant_withdrawn_from_the_role_group_refuses_the_next_request(world):
    url = _urls(world)["card"]
    client = world.client("telesecretary_a")
    assert client.get(url).status_code == 200
    group = Group.objects.get(name=practice_group_name(world.practice_a.pk, Role.TELESECRETARY))
    remove_perm("accounts.view_patient_identity", group, world.practice_a)
    assert client.get(url).status_code == 403


def _stamp(client, minutes_ago: int) -> None:
    session = client.session
    session[SESSION_LAST_SEEN] = (timezone.now() - timedelta(minutes=minutes_ago)).isoformat()
    session.save()


def test_activity_stamp_is_written_only_when_due(world):
    client = world.client("telesecretary_a")
    home = reverse("accounts:home")
    row = UserSession.objects.get(user=world.users["telesecretary_a"])
    UserSession.objects.filter(pk=row.pk).update(last_seen=timezone.now() - timedelta(minutes=5))
    _stamp(client, 0)
    with CaptureQueriesContext(connection) as fresh:
        assert client.get(home).status_code == 200
    assert _writes(fresh) == []
    _stamp(client, 2)
    with CaptureQueriesContext(connection) as due:
        assert client.get(home).status_code == 200
    assert sorted(_writes(due)) == ['UPDATE "accounts_usersession"', 'UPDATE "django_session"']
    row.refresh_from_db()
    assert timezone.now() - row.last_seen < timedelta(minutes=1)


def test_session_ended_elsewhere_is_refused_before_its_stamp_is_due(world):
    user = world.users["telesecretary_a"]
    client = world.client("telesecretary_a")
    home = reverse("accounts:home")
    _stamp(client, 0)
    assert client.get(home).status_code == 200
    session_end(user=user, session_id=UserSession.objects.get(user=user).pk)
    response = client.get(home)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_session_whose_row_is_gone_is_ended_when_its_stamp_is_due(world):
    client = world.client("telesecretary_a")
    home = reverse("accounts:home")
    UserSession.objects.filter(user=world.users["telesecretary_a"]).delete()
    _stamp(client, 2)
    response = client.get(home)
    assert response.status_code == 302
    assert client.get(home).status_code == 302
