import base64
import re
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import TOTPDevice
from accounts.roles import Role
from tests.accounts.helpers import password_step
from tests.factories import PracticeFactory, UserFactory, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer():
    return grant(UserFactory(username="newbie"), Role.PRACTITIONER, PracticeFactory())


def _secret_from_page(html: str) -> str:
    return re.search(r'<code class="secret">([A-Z2-7]+)</code>', html).group(1)


def test_first_login_forces_enrolment_with_qr_code(newcomer):
    client = Client()
    response = password_step(client, "newbie")
    assert response["Location"] == reverse("accounts:enrol")
    page = client.get(reverse("accounts:enrol"))
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert page["Cache-Control"] == "no-store"
    # Nothing else is reachable before enrolment completes.
    assert client.get(reverse("accounts:home")).status_code == 302


def test_enrolment_with_correct_code_logs_in_and_shows_recovery_codes(newcomer):
    client = Client()
    password_step(client, "newbie")
    secret = _secret_from_page(client.get(reverse("accounts:enrol")).content.decode())
    response = client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    codes = re.findall(r"<code>([A-Z2-7-]{29})</code>", response.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(user=newcomer).confirmed
    # Logged in by the enrolment itself: the home page opens, no login page.
    home = client.get(reverse("accounts:home"))
    assert home.status_code == 200
    assert home.wsgi_request.user == newcomer
    assert newcomer.recovery_codes.filter(used_at__isnull=True).count() == 10


def test_recovery_codes_page_is_never_cached(newcomer):
    client = Client()
    password_step(client, "newbie")
    secret = _secret_from_page(client.get(reverse("accounts:enrol")).content.decode())
    response = client.post(reverse("accounts:enrol"), {"code": pyotp.TOTP(secret).now()})
    assert "<code>" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_enrolment_with_wrong_code_is_refused(newcomer):
    client = Client()
    password_step(client, "newbie")
    client.get(reverse("accounts:enrol"))
    response = client.post(reverse("accounts:enrol"), {"code": "000000"})
    assert response.status_code == 200
    assert "Code incorrect" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=newcomer, confirmed=True).exists()


def test_enrolment_is_not_reachable_without_password_step(newcomer):
    response = Client().get(reverse("accounts:enrol"))
    assert response["Location"] == reverse("accounts:login")


def test_provisioning_uri_matches_the_stored_secret(newcomer):
    from accounts import otp, services

    device, secret = services.device_start_enrolment(user=newcomer)
    uri = otp.provisioning_uri(newcomer, secret)
    query = parse_qs(urlparse(uri).query)
    assert base64.b32decode(query["secret"][0] + "=" * (-len(query["secret"][0]) % 8)) == secret
    assert device.secret() == secret
