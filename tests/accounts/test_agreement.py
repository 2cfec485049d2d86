import pytest
from django.urls import reverse

from accounts.models import AgreementAcceptance, ConfidentialityAgreement
from tests.personas import verified_client

pytestmark = pytest.mark.django_db


def test_new_agreement_version_blocks_pages_until_accepted(world):
    client = world.client("telesecretary_a")
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert client.get(url).status_code == 200
    ConfidentialityAgreement.objects.create(version=2, title="Charte", text="Nouvelle version")
    response = client.get(url)
    assert response["Location"] == reverse("accounts:agreement")
    page = client.get(reverse("accounts:agreement"))
    assert "Nouvelle version" in page.content.decode()


def test_accepting_records_who_which_version_and_when(world):
    user = world.users["practitioner_a"]
    client = verified_client(user)
    ConfidentialityAgreement.objects.create(version=2, title="Charte", text="v2")
    response = client.post(reverse("accounts:agreement"), {"accept": "on"})
    assert response["Location"] == reverse("accounts:home")
    acceptance = AgreementAcceptance.objects.get(user=user, agreement__version=2)
    assert acceptance.accepted_at is not None
    assert acceptance.ip_address == "127.0.0.1"
    url = reverse("accounts:practice_home", args=[world.practice_a.slug])
    assert client.get(url).status_code == 200


def test_agreement_needs_the_box_ticked(world):
    client = world.client("telesecretary_a")
    ConfidentialityAgreement.objects.create(version=2, title="Charte", text="v2")
    response = client.post(reverse("accounts:agreement"), {})
    assert response.status_code == 200
    assert not AgreementAcceptance.objects.filter(agreement__version=2).exists()
