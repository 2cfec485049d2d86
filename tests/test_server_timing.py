"""The Server-Timing header (issue 18 item 7): in development and benches each
response says what it cost; off, nothing is added."""

import re

import pytest
from django.urls import reverse

from tests.patients.helpers import make_patient

pytestmark = pytest.mark.django_db

HEADER = re.compile(
    r'^db;dur=[0-9.]+;desc="(\d+) queries", decrypt;desc="(\d+) fields", total;dur=[0-9.]+$'
)


def _card(world):
    patient = make_patient(world.practice_a)
    url = reverse(
        "patients:detail", kwargs={"practice": world.practice_a.slug, "patient": patient.pk}
    )
    return world.client("telesecretary_a"), url


def test_page_tells_its_queries_and_decryptions(world, settings, django_assert_max_num_queries):
    settings.SERVER_TIMING = True
    client, url = _card(world)
    client.get(url)
    response = client.get(url)
    found = HEADER.match(response["Server-Timing"])
    assert found, response["Server-Timing"]
    queries, fields = int(found[1]), int(found[2])
    assert 5 <= queries <= 12
    assert fields >= 9  # the card's identity fields at least


def test_header_is_absent_when_off(world, settings):
    settings.SERVER_TIMING = False
    client, url = _card(world)
    assert "Server-Timing" not in client.get(url)
