"""The record of processing (GDPR art. 30), generated from the state the code
enforces: the retention the purge applies, the data the models hold and seal,
the configured sub-processors, the security settings in force."""

import pytest
from django.apps import apps
from django.db import models
from django.urls import reverse

from accounts.scoping import practice_scope
from audit.models import AuditEvent
from compliance import register, retention
from compliance.models import DataKind, RetentionPolicy
from patients import portability
from patients.models import SealedModel

pytestmark = pytest.mark.django_db


def _register(world, slug="cabinet-a"):
    return world.client("compliance_officer").get(reverse("compliance:register", args=[slug]))


def _retention_row(html: str, kind: str) -> str:
    start = html.index(f'class="retention-{kind}"')
    return html[start : html.index("</tr>", start)]


def test_register_shows_the_retention_the_purge_applies_and_follows_a_changed_policy(world):
    rule = retention.RULES[DataKind.CALL_MESSAGES]
    before = _retention_row(_register(world).content.decode(), DataKind.CALL_MESSAGES)
    assert f"{rule.default_days} jours" in before
    with practice_scope(world.practice_a):
        RetentionPolicy.objects.create(
            practice=world.practice_a, kind=DataKind.CALL_MESSAGES, days=200
        )
    assert retention.policy_days(world.practice_a, DataKind.CALL_MESSAGES) == 200
    after = _retention_row(_register(world).content.decode(), DataKind.CALL_MESSAGES)
    assert "200 jours" in after
    assert f"{rule.default_days} jours" not in after
    other = _retention_row(_register(world, "cabinet-b").content.decode(), DataKind.CALL_MESSAGES)
    assert f"{rule.default_days} jours" in other


def test_register_lists_every_kind_the_purge_knows(world):
    rows = {row["kind"] for row in register.retention_periods(world.practice_a)}
    assert rows == {str(kind) for kind in retention.RULES}


def test_register_lists_identity_contact_and_sealed_fields(world):
    html = _register(world).content.decode()
    for field in ("Courriel", "Adresse", "NIR", "Téléphone", "Date de naissance"):
        assert field in html
    identity = register.data_categories()[0]
    assert {"Courriel", "Adresse", "NIR"} <= set(identity.sealed)
    notes = next(c for c in register.data_categories() if c.title == "Notes cliniques")
    assert notes.clinical and notes.sealed == ["Note"]


@pytest.fixture
def sealed_test_model():
    """A sealed model that exists for one test: registered, then removed."""

    class Mutuelle(SealedModel):
        SEALED = ("organisme_complementaire",)
        organisme_complementaire_sealed = models.BinaryField()

        class Meta:
            app_label = "patients"
            managed = False
            verbose_name = "mutuelle"
            verbose_name_plural = "mutuelles"

    yield Mutuelle
    del apps.all_models["patients"]["mutuelle"]
    apps.clear_cache()


def test_a_new_sealed_model_appears_in_the_register(world, sealed_test_model):
    html = _register(world).content.decode()
    assert "Mutuelles" in html and "organisme complementaire" in html
    category = next(c for c in register.data_categories() if c.title == "Mutuelles")
    assert category.sealed == ["organisme complementaire"]


def test_every_sealed_field_outside_the_patient_file_has_words(world):
    covered = {model for section in portability.sections() for model in section.models}
    unnamed = [
        f"{model.__name__}.{name}"
        for model, names in register.sealed_fields().items()
        if model not in covered
        for name in names
        if name not in getattr(model, "SEALED_LABELS", {})
    ]
    assert unnamed == []
    html = _register(world).content.decode()
    assert "Numéro de l&#x27;appelant" in html or "Numéro de l'appelant" in html


def test_a_sealed_model_removed_leaves_the_register(world):
    assert "organisme complementaire" not in _register(world).content.decode()


def test_register_names_the_configured_subprocessors(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "smtp.courrier.example"
    settings.EMAIL_PROVIDER_COUNTRY = "US"
    settings.HOSTING_PROVIDER = "Hébergeur HDS Exemple"
    settings.HOSTING_COUNTRY = "FR"
    html = _register(world).content.decode()
    assert "smtp.courrier.example" in html
    assert "Hébergeur HDS Exemple" in html
    assert "À vérifier : pays hors de l&#x27;EEE ou non déclaré pour smtp.courrier.example" in html
    settings.EMAIL_PROVIDER_COUNTRY = "FR"
    assert "Aucun transfert hors de l&#x27;Espace économique européen." in (
        _register(world).content.decode()
    )
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.HOSTING_PROVIDER = ""
    html = _register(world).content.decode()
    assert "smtp.courrier.example" not in html
    assert "les courriels ne quittent pas le serveur" in html
    assert "Non déclaré (réglage HOSTING_PROVIDER)" in html


def test_register_states_the_security_settings_in_force(world, settings):
    settings.AXES_FAILURE_LIMIT = 7
    settings.SECURE_SSL_REDIRECT = False
    settings.BACKUP_KEYRING = ""
    measures = register.security_measures()
    assert "Verrouillage après 7 échecs pendant 15 minutes" in measures
    assert "HTTPS non imposé par l'application (ni redirection ni HSTS)" in measures
    assert any("clé de sauvegarde NON configurée" in measure for measure in measures)
    # The suite runs as the application role, which row security holds.
    assert any("appliquée au rôle de l'application" in measure for measure in measures)
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 63072000
    assert "HTTPS imposé (redirection, HSTS 730 jours, cookies sécurisés)" in (
        register.security_measures()
    )


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


def test_register_view_is_audited_on_the_practice_chain(world):
    _register(world)
    event = AuditEvent.objects.get(object_type="processing_register")
    assert event.practice_id == world.practice_a.pk


def test_register_of_unknown_practice_is_404(world):
    assert _register(world, slug="nope").status_code == 404


def test_register_pdf_follows_a_changed_policy(world):
    url = reverse("compliance:register_pdf", args=[world.practice_a.slug])
    with practice_scope(world.practice_a):
        RetentionPolicy.objects.create(
            practice=world.practice_a, kind=DataKind.APPOINTMENTS, days=1234
        )
    response = world.client("compliance_officer").get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    body = response.content
    assert body.startswith(b"%PDF-")
    assert b"1234 j" in body
    assert b"Cabinet A" in body
