"""Every tenant model of the patients app fails closed outside a scope."""

import pytest
from django.apps import apps
from django_scopes import ScopeError

from accounts.scoping import practice_scope
from tests.patients.helpers import make_patient

TENANT_MODELS = [
    model
    for model in apps.get_app_config("patients").get_models()
    if any(field.name == "practice" for field in model._meta.fields)
]


def test_patients_app_has_tenant_models():
    names = {model.__name__ for model in TENANT_MODELS}
    assert {"Patient", "ClinicalNote", "Consent", "BreakGlassGrant", "PracticeKey"} <= names


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model.__name__)
def test_default_manager_is_scoped(model):
    manager = model._default_manager
    assert hasattr(manager, "with_scopes_disabled"), "default manager must be a ScopedManager"
    assert model.objects is manager
    field = model._meta.get_field("practice")
    assert field.db_index


@pytest.mark.django_db
@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda model: model.__name__)
def test_query_outside_a_scope_raises(model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).first()


@pytest.mark.django_db
def test_scope_shows_only_its_practice(world):
    from patients.models import Patient

    make_patient(world.practice_a)
    make_patient(world.practice_b)
    with practice_scope(world.practice_a):
        assert {p.practice_id for p in Patient.objects.all()} == {world.practice_a.pk}
