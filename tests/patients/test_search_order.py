"""Searches flat with the table's size (issue 18 item 3): a deterministic order
that an index serves, and a bounded read however many patients match."""

import os

import pytest
from django.db import connection

from accounts.dbroles import OWNER
from accounts.scoping import practice_scope
from patients import keys, selectors
from patients.models import Patient
from tests.dbroles import as_role
from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def martins(world, monkeypatch):
    """Five patients named Martin (one by birth name), a page of three."""
    monkeypatch.setattr(selectors, "SEARCH_LIMIT", 3)
    made = [
        make_patient(world.practice_a, last_name="Martin", phone=f"07000000{i:02d}")
        for i in range(4)
    ]
    made.append(
        make_patient(world.practice_a, last_name="Autre", birth_name="Martin", phone="0700000099")
    )
    return sorted(patient.pk for patient in made)


def _search(world, query: str):
    with practice_scope(world.practice_a):
        return selectors.patient_search(world.practice_a, query)


def test_common_name_gives_the_first_page_by_id(world, martins):
    found = _search(world, "martin")
    assert found.kind == "name"
    assert [patient.pk for patient in found.patients] == martins[:3]


def test_prefix_gives_its_first_candidates_by_id(world, martins):
    found = _search(world, "mar")
    assert found.kind == "name_prefix"
    # Four last names start with "mar" (the fifth is Martin by birth only).
    last_names = [pk for pk in martins if _last_name(world, pk) == "Martin"]
    assert [patient.pk for patient in found.patients] == last_names[:3]


def _last_name(world, pk) -> str:
    with practice_scope(world.practice_a):
        return Patient.objects.get(practice=world.practice_a, pk=pk).read("last_name")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_name_lookup_reads_its_index_in_id_order(world, martins):
    digest = keys.practice_keys(world.practice_a.pk).blind_index("name", "martin")
    # Other patients (never opened: the plan only), so that walking the whole
    # table by id would cost more than the index.
    with practice_scope(world.practice_a):
        Patient.objects.bulk_create(
            Patient(practice=world.practice_a, last_name_bidx=os.urandom(32)) for _ in range(400)
        )
    with as_role(OWNER), connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_patient")
    with practice_scope(world.practice_a):
        query = Patient.objects.filter(practice=world.practice_a, last_name_bidx=digest).order_by(
            "pk"
        )[:3]
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = query.explain()
    assert "patient_last_name_bidx_id" in plan, plan
    assert "Sort" not in plan, plan
