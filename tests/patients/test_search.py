"""Blind-index search: formats, accents, prefixes, and no other practice."""

from datetime import date

import pytest

from accounts.scoping import practice_scope
from patients import normalise, selectors
from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db


def _search(practice, query: str):
    with practice_scope(practice):
        return selectors.patient_search(practice, query)


@pytest.mark.parametrize(
    "query",
    [
        "+33 6 12 34 56 78",
        "06 12 34 56 78",
        "0612345678",
        "0033612345678",
        "06.12.34.56.78",
        "+33 (0)6 12 34 56 78",
        "06-12-34-56-78",
    ],
)
def test_phone_search_finds_the_patient_in_any_format(world, query):
    patient = make_patient(world.practice_a, phone="06 12 34 56 78")
    make_patient(world.practice_a, last_name="Autre", phone="07 00 00 00 00")
    found = _search(world.practice_a, query)
    assert found.kind == "phone"
    assert [p.pk for p in found.patients] == [patient.pk]


def test_phone_search_finds_the_second_number(world):
    patient = make_patient(world.practice_a, phone="0612345678", phone_alt="04 78 00 11 22")
    found = _search(world.practice_a, "+33478001122")
    assert [p.pk for p in found.patients] == [patient.pk]


def test_birth_date_search(world):
    patient = make_patient(world.practice_a, birth_date=date(1984, 7, 14))
    make_patient(world.practice_a, birth_date=date(1984, 7, 15), phone="0700000000")
    found = _search(world.practice_a, "14/07/1984")
    assert found.kind == "birth_date"
    assert [p.pk for p in found.patients] == [patient.pk]


@pytest.mark.parametrize("query", ["lefevre", "LEFÈVRE", "Lefèvre", " lefèvre  "])
def test_name_search_ignores_accents_and_case(world, query):
    patient = make_patient(world.practice_a, last_name="Lefèvre")
    found = _search(world.practice_a, query)
    assert found.kind == "name"
    assert [p.pk for p in found.patients] == [patient.pk]


def test_compound_name_with_hyphen_or_space(world):
    patient = make_patient(world.practice_a, last_name="Le Goff-Kérouac")
    for query in ("le goff kerouac", "Le-Goff Kérouac", "LE GOFF-KEROUAC"):
        assert [p.pk for p in _search(world.practice_a, query).patients] == [patient.pk]


def test_name_and_first_name_in_either_order(world):
    elodie = make_patient(world.practice_a, last_name="Lefèvre", first_names="Élodie Marie")
    make_patient(world.practice_a, last_name="Lefèvre", first_names="Paul", phone="0700000000")
    for query in ("Lefèvre Élodie", "elodie lefevre"):
        found = _search(world.practice_a, query)
        assert [p.pk for p in found.patients] == [elodie.pk], query
    assert len(_search(world.practice_a, "lefevre").patients) == 2


def test_birth_name_search(world):
    patient = make_patient(world.practice_a, birth_name="Dubois-Clément")
    assert [p.pk for p in _search(world.practice_a, "dubois clement").patients] == [patient.pk]


def test_prefix_search_refines_on_the_matched_rows(world):
    lef = make_patient(world.practice_a, last_name="Lefèvre")
    leg = make_patient(world.practice_a, last_name="Legrand", phone="0700000001")
    make_patient(world.practice_a, last_name="Martin", phone="0700000002")
    found = _search(world.practice_a, "lef")
    assert found.kind == "name_prefix"
    assert [p.pk for p in found.patients] == [lef.pk]
    assert {p.pk for p in _search(world.practice_a, "Le").patients} == set()
    found = _search(world.practice_a, "leg")
    assert [p.pk for p in found.patients] == [leg.pk]
    assert [p.pk for p in _search(world.practice_a, "lefè").patients] == [lef.pk]


def test_search_never_finds_another_practices_patient(world):
    make_patient(world.practice_b, last_name="Lefèvre", phone="0612345678")
    for query in ("0612345678", "lefevre", "lef", "14/07/1984", "Lefèvre Élodie"):
        assert _search(world.practice_a, query).patients == [], query


def test_same_value_gives_different_indexes_in_two_practices(world):
    a = make_patient(world.practice_a)
    b = make_patient(world.practice_b)
    assert bytes(a.phone_bidx) != bytes(b.phone_bidx)
    assert bytes(a.last_name_bidx) != bytes(b.last_name_bidx)


def test_indexes_of_different_fields_use_different_keys(world):
    # Same text as a last name and as a birth name on two rows: the name index
    # is shared on purpose (search matches either), the prefix index is not.
    a = make_patient(world.practice_a, last_name="Abc")
    assert bytes(a.last_name_bidx) != bytes(a.name_prefix_bidx)


def test_hostile_queries_are_harmless(world):
    make_patient(world.practice_a)
    for query in ("' OR 1=1 --", "%", "_", "<script>", "", "   ", "x" * 500, "12"):
        assert _search(world.practice_a, query).patients == [], query


def test_normalise_name():
    assert normalise.name("  Élodie-Marie  D’Aubigné ") == "elodie marie d aubigne"
    assert normalise.name("Œdipe") == "oedipe"


def test_search_query_count_does_not_grow_with_results(world, django_assert_max_num_queries):
    for i in range(12):
        make_patient(world.practice_a, first_names=f"Prénom{i}", phone=f"07000000{i:02d}")
    keys_loaded = _search(world.practice_a, "lefevre")
    assert len(keys_loaded.patients) == 12
    # Inside the practice's scope, as a request is.
    with practice_scope(world.practice_a):
        with django_assert_max_num_queries(2):
            found = _search(world.practice_a, "lefèvre")
            [selectors.summary(patient) for patient in found.patients]
        with django_assert_max_num_queries(2):
            assert len(_search(world.practice_a, "lef").patients) == 12


def test_two_digit_year_is_not_a_birth_date(world):
    make_patient(world.practice_a)
    assert _search(world.practice_a, "14/07/84").kind != "birth_date"
