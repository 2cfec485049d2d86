"""The record of processing (GDPR art. 30), generated from live settings."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent


def _register(world, slug="cabinet-a"):
    return world.client("compliance_officer").get(reverse("continuity:register", args=[slug]))


@pytest.mark.django_db
def test_register_page_reflects_a_changed_retention_setting(world, settings):
    before = _register(world).content.decode()
    assert "1825 jours" in before
    settings.PROCESSING_RETENTION_DAYS = {"appointments": 1096}
    after = _register(world).content.decode()
    assert "1096 jours" in after
    assert "1825 jours" not in after


@pytest.mark.django_db
def test_register_lists_recipients_by_role_with_live_counts(world):
    response = _register(world)
    assert response.status_code == 200
    recipients = {r.role: r for r in response.context["recipients"]}
    assert recipients["telesecretary"].members == 2  # tele_a and tele_ab in practice A
    assert "Voir les notes cliniques" in recipients["practitioner"].permissions
    assert "Voir les notes cliniques" not in recipients["telesecretary"].permissions
    content = response.content.decode()
    assert "Cabinet A" in content
    assert "Sous-traitants" in content


@pytest.mark.django_db
def test_register_view_is_audited_on_the_practice_chain(world):
    _register(world)
    event = AuditEvent.objects.get(object_type="processing_register")
    assert event.practice_id == world.practice_a.pk


@pytest.mark.django_db
def test_register_of_unknown_practice_is_404(world):
    assert _register(world, slug="nope").status_code == 404


def test_register_pdf_reflects_a_changed_retention_setting(world, settings):
    url = reverse("continuity:register_pdf", args=[world.practice_a.slug])
    settings.PROCESSING_RETENTION_DAYS = {"appointments": 1234}
    response = world.client("compliance_officer").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF-")
    assert b"1234 j" in body
    assert b"Cabinet A" in body
