"""/favicon.ico: browsers ask for it on their own, before and after login."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.personas import verified_client

pytestmark = pytest.mark.django_db


def _icon(client: Client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    return b"".join(icon.streaming_content) if icon.streaming else icon.content


def test_favicon_is_served_without_login():
    assert b"<svg" in _icon(Client())


def test_favicon_is_served_before_the_charter_is_accepted():
    # A logged-in user who has not accepted the charter yet is sent to it by
    # every page, but not by the icon the browser asks for on its own.
    user = UserFactory()
    client = verified_client(user)
    user.acceptances.all().delete()
    assert client.get(reverse("accounts:home"))["Location"] == reverse("accounts:agreement")
    assert b"<svg" in _icon(client)
