"""The hidden-leak test: with every explicit `practice=` filter on practice data
removed from the application (and django-scopes' own filter with them, as it is
one too), the pages still show no row of another practice, because row-level
security holds on its own.

The removal is a planted bug on purpose: QuerySet filtering drops any lookup
on `practice` for the practice-data models while the test runs. The same pages
requested as the owner role (which row security does not filter) do leak: the
control shows that the planted bug is real and that the test can fail."""

import pytest
from django.db.models import Q, QuerySet
from django.urls import reverse

from accounts.dbroles import OWNER
from accounts.tenancy import PRACTICE_DATA, policy_kind
from tests.dbroles import as_role
from tests.tenancy.helpers import appointment_of, rows_of_every_kind

pytestmark = pytest.mark.usefixtures("database_roles")

_FILTER = QuerySet._filter_or_exclude_inplace


def _practice_lookup(key: str) -> bool:
    return key.split("__")[0] in ("practice", "practice_id")


def _without_practice(q: Q) -> Q:
    children = []
    for child in q.children:
        if isinstance(child, Q):
            children.append(_without_practice(child))
        elif not (isinstance(child, tuple) and _practice_lookup(child[0])):
            children.append(child)
    stripped = Q(*children)
    stripped.connector, stripped.negated = q.connector, q.negated
    return stripped


def _filter_without_practice(self, negate, args, kwargs):
    if policy_kind(self.model) == PRACTICE_DATA:
        kwargs = {key: value for key, value in kwargs.items() if not _practice_lookup(key)}
        args = tuple(_without_practice(arg) if isinstance(arg, Q) else arg for arg in args)
    return _FILTER(self, negate, args, kwargs)


@pytest.fixture
def practice_filters_removed(monkeypatch):
    monkeypatch.setattr(QuerySet, "_filter_or_exclude_inplace", _filter_without_practice)


@pytest.fixture
def leak_world(world):
    made = rows_of_every_kind(world)
    return world, made["b"], appointment_of(world.practice_b)


def _pages(world, patient_b, appointment_b) -> dict[str, str]:
    practice = world.practice_a.slug
    return {
        "patient": reverse("patients:detail", args=[practice, patient_b.pk]),
        "appointment": reverse("appointments:detail", args=[practice, appointment_b.pk]),
        "waiting_list": reverse("appointments:waiting_list", args=[practice]),
    }


def test_pages_show_no_other_practice_with_every_practice_filter_removed(
    leak_world, practice_filters_removed
):
    world, patient_b, appointment_b = leak_world
    client = world.client("telesecretary_a")
    pages = _pages(world, patient_b, appointment_b)
    assert client.get(pages["patient"]).status_code == 404
    assert client.get(pages["appointment"]).status_code == 404
    listing = client.get(pages["waiting_list"])
    assert listing.status_code == 200
    assert "Témoin a" in listing.content.decode()
    assert "Témoin b" not in listing.content.decode()


def test_without_row_security_the_planted_bug_leaks(leak_world, practice_filters_removed):
    """The control: the same requests as the owner role, which row security does
    not filter, show practice B's rows. This is what the policies prevent."""
    world, patient_b, appointment_b = leak_world
    client = world.client("telesecretary_a")
    pages = _pages(world, patient_b, appointment_b)
    with as_role(OWNER):
        appointment = client.get(pages["appointment"])
        listing = client.get(pages["waiting_list"])
    assert appointment.status_code == 200
    assert "Motif secret b" in appointment.content.decode()
    assert "Témoin b" in listing.content.decode()


def test_filters_in_place_the_pages_answer_the_same(leak_world):
    # Without the planted bug: the application's own filters give the same answers.
    world, patient_b, appointment_b = leak_world
    client = world.client("telesecretary_a")
    pages = _pages(world, patient_b, appointment_b)
    with as_role(OWNER):
        assert client.get(pages["appointment"]).status_code == 404
        assert "Témoin b" not in client.get(pages["waiting_list"]).content.decode()
