"""Where a login lands (issue 14 item 7) and the page a session that expired
mid-call returns to (item 6)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.sessions import SESSION_LAST_SEEN
from audit.models import AuditEvent
from tests.accounts.helpers import PASSWORD, authenticator, otp_step
from tests.factories import enrol_device

pytestmark = pytest.mark.django_db


def _log_in(world, persona: str, next_path: str = "") -> str:
    user = world.users[persona]
    if not user.totpdevice_set.filter(confirmed=True).exists():
        enrol_device(user)
    client = Client()
    url = reverse("accounts:login") + (f"?next={next_path}" if next_path else "")
    client.post(url, {"username": user.username, "password": PASSWORD})
    return otp_step(client, authenticator().now())["Location"]


def _expire(client) -> None:
    session = client.session
    session[SESSION_LAST_SEEN] = (timezone.now() - timedelta(hours=1)).isoformat()
    session.save()


def test_single_practice_telesecretary_lands_on_its_console(world):
    assert _log_in(world, "telesecretary_a") == reverse("console:practice", args=["cabinet-a"])


def test_multi_practice_telesecretary_lands_on_the_console(world):
    assert _log_in(world, "telesecretary_ab") == reverse("console:home")


def test_other_roles_land_on_the_home_page(world):
    assert _log_in(world, "practitioner_a") == reverse("accounts:home")
    assert _log_in(world, "platform_admin") == reverse("accounts:home")


def test_a_page_asked_for_wins_over_the_console(world):
    assert _log_in(world, "telesecretary_a", "/compte/sessions/") == "/compte/sessions/"


def test_session_expired_mid_call_returns_to_the_console_page(world):
    client = world.client("telesecretary_a")
    console = reverse("console:practice", args=["cabinet-a"])
    _expire(client)
    response = client.get(console)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=%2Fp%2Fcabinet-a%2Fconsole%2F"
    assert _log_in(world, "telesecretary_a", console) == console


def test_session_expired_on_an_htmx_request_sends_the_whole_page_to_login(world):
    client = world.client("telesecretary_a")
    _expire(client)
    response = client.post(
        reverse("console:search", args=["cabinet-a"]),
        {"q": "Lefèvre"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/p/cabinet-a/console/",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == (
        reverse("accounts:login") + "?next=%2Fp%2Fcabinet-a%2Fconsole%2F"
    )
    assert AuditEvent.objects.filter(action="session_expired").count() == 1
    assert not AuditEvent.objects.filter(action="search").exists()


def test_session_expired_keeps_no_next_from_another_site(world):
    client = world.client("telesecretary_a")
    _expire(client)
    response = client.post(
        reverse("console:search", args=["cabinet-a"]),
        {"q": "Lefèvre"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="https://evil.example/p/cabinet-a/console/",
    )
    assert response["HX-Redirect"] == reverse("accounts:login")


def test_session_expired_on_a_plain_post_keeps_no_next(world):
    client = world.client("telesecretary_a")
    _expire(client)
    response = client.post(reverse("console:search", args=["cabinet-a"]), {"q": "x"})
    assert response["Location"] == reverse("accounts:login")
