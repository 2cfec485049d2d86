"""The practitioner's page: create (shown once), see, change, revoke."""

import re

import pytest
from django.test import Client

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from calendarfeed.models import CalendarFeed
from tests.factories import UserFactory, grant
from tests.personas import verified_client

pytestmark = pytest.mark.django_db

PAGE = "/p/cabinet-a/agenda/abonnement/"


def _create(client, initials: bool = False):
    data = {"show_initials": "on"} if initials else {}
    return client.post(PAGE + "creer/", data)


def _address(response) -> str:
    match = re.search(r"(http://testserver/calendrier/[A-Za-z0-9_-]+\.ics)", response.text)
    assert match, "the new address is on the page"
    return match[1]


def test_practitioner_creates_an_address_shown_once_with_webcal_and_qr(world):
    client = world.client("practitioner_a")
    response = _create(client)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    address = _address(response)
    secret = address.rsplit("/", 1)[1].removesuffix(".ics")
    assert f'href="webcal://testserver/calendrier/{secret}.ics"' in response.text
    assert 'src="data:image/svg+xml;base64,' in response.text
    assert "Elle n'est affichée qu'une fois" in response.text
    page = client.get(PAGE)
    assert secret not in page.text
    assert "Active, créée le" in page.text
    assert Client().get(address.removeprefix("http://testserver")).status_code == 200


def test_page_shows_the_last_fetch(world):
    client = world.client("practitioner_a")
    address = _address(_create(client)).removeprefix("http://testserver")
    assert "Jamais consultée" in client.get(PAGE).text
    Client().get(address)
    assert "Dernière consultation par une application" in client.get(PAGE).text


def test_revoking_stops_the_address(world):
    client = world.client("practitioner_a")
    address = _address(_create(client)).removeprefix("http://testserver")
    response = client.post(PAGE + "revoquer/")
    assert response.status_code == 302
    assert Client().get(address).status_code == 404
    assert "Aucune adresse active." in client.get(PAGE).text


def test_replacing_stops_the_old_address(world):
    client = world.client("practitioner_a")
    old = _address(_create(client)).removeprefix("http://testserver")
    new = _address(_create(client)).removeprefix("http://testserver")
    assert Client().get(old).status_code == 404
    assert Client().get(new).status_code == 200
    with practice_scope(world.practice_a):
        assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1


def test_initials_opt_in_is_changed_on_the_live_address(world):
    client = world.client("practitioner_a")
    _create(client)
    client.post(PAGE + "initiales/", {"show_initials": "on"})
    with practice_scope(world.practice_a):
        assert CalendarFeed.objects.get(revoked_at__isnull=True).show_initials
    client.post(PAGE + "initiales/", {})
    with practice_scope(world.practice_a):
        assert not CalendarFeed.objects.get(revoked_at__isnull=True).show_initials


def test_initials_without_an_address_answers_404(world):
    response = world.client("practitioner_a").post(PAGE + "initiales/", {"show_initials": "on"})
    assert response.status_code == 404


def test_each_practitioner_sees_only_their_own_address(world):
    colleague = grant(UserFactory(username="dr_a2"), "practitioner", world.practice_a)
    _create(world.client("practitioner_a"))
    assert "Aucune adresse active." in verified_client(colleague).get(PAGE).text


def test_secret_is_in_no_audit_event(world):
    client = world.client("practitioner_a")
    address = _address(_create(client))
    secret = address.rsplit("/", 1)[1].removesuffix(".ics")
    Client().get(address.removeprefix("http://testserver"))
    for event in AuditEvent.objects.all():
        assert secret not in f"{event.detail} {event.object_id}"
