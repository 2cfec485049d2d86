import json
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Membership, Practice, TOTPDevice, User

pytestmark = pytest.mark.django_db


def _seed_json() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


def _counts() -> tuple:
    return (
        User.objects.count(),
        Practice.objects.count(),
        Membership.objects.count(),
        TOTPDevice.objects.count(),
    )


def test_seed_demo_twice_gives_the_same_data():
    first = _seed_json()
    counts = _counts()
    second = _seed_json()
    assert first == second
    assert _counts() == counts


def test_seed_demo_contract():
    data = _seed_json()
    roles = {user["role"] for user in data["users"]}
    assert roles >= {
        "telesecretary",
        "practitioner",
        "compliance_officer",
        "platform_admin",
    }
    assert len(data["practices"]) >= 2
    telesecretaries = [u for u in data["users"] if u["role"] == "telesecretary"]
    assert sorted(len(u["practices"]) for u in telesecretaries)[:2] == [1, 2]
    for user in data["users"]:
        assert set(user) >= {"username", "password", "role", "practices", "otpauth"}
        assert user["otpauth"].startswith("otpauth://totp/")
    for practice in data["practices"]:
        assert set(practice) >= {"name", "patients"}


def test_seed_demo_users_log_in_with_their_otpauth_secret():
    import pyotp
    from django.test import Client
    from django.urls import reverse

    data = _seed_json()
    user = next(u for u in data["users"] if u["role"] == "practitioner")
    client = Client()
    client.post(
        reverse("accounts:login"), {"username": user["username"], "password": user["password"]}
    )
    code = pyotp.parse_uri(user["otpauth"]).now()
    response = client.post(reverse("accounts:otp"), {"code": code})
    assert response["Location"] == reverse("accounts:home")


def test_seed_demo_records_a_processing_contract_for_each_active_practice():
    from audit.models import AuditEvent
    from onboarding.models import ProcessingContract

    _seed_json()
    active = Practice.objects.filter(status=Practice.Status.ACTIVE)
    assert active.exists()
    for practice in active:
        contract = ProcessingContract.objects.get(practice=practice)
        assert contract.pdf().startswith(b"%PDF-")
        # Recorded like onboarding does: its audit event in the practice's chain.
        assert AuditEvent.objects.filter(
            practice=practice, object_type="contract", object_id=str(contract.pk)
        ).exists()
    _seed_json()
    assert ProcessingContract.objects.count() == active.count()


def test_seed_demo_active_practices_pass_every_required_onboarding_step():
    from onboarding.services import onboarding_checklist

    _seed_json()
    for practice in Practice.objects.filter(status=Practice.Status.ACTIVE):
        missing = [s.label for s in onboarding_checklist(practice) if s.required and not s.done]
        assert missing == [], (practice.slug, missing)
