"""The django-scopes tripwire, over every tenant model of every app (issue 12):
the list comes from accounts.tenancy.tenant_models(), the one registry that row
security also reads, so a new tenant model is checked the day it exists.

Practice data (the default kind) must fail closed outside a scope and filter
on its own practice inside one; provider records and the audit trail are read
across practices by design, each listed in accounts/tenancy.py with its reason
(tests/tenancy/test_row_security.py checks those lists)."""

import pytest
from django.apps import apps
from django_scopes import ScopeError

from accounts.scoping import practice_scope
from accounts.tenancy import PRACTICE_DATA, policy_kind, tenant_models

PRACTICE_MODELS = [model for model in tenant_models() if policy_kind(model) == PRACTICE_DATA]


def _label(model) -> str:
    return model._meta.label


def test_registry_holds_every_model_with_a_practice_of_every_app():
    found = {
        _label(model)
        for model in apps.get_models(include_auto_created=True)
        if any(
            field.name == "practice"
            and field.is_relation
            and field.related_model._meta.label == "accounts.Practice"
            for field in model._meta.concrete_fields
        )
    }
    assert found == {_label(model) for model in tenant_models()}
    apps_covered = {model._meta.app_label for model in PRACTICE_MODELS}
    assert {"patients", "appointments", "calendarfeed"} <= apps_covered


@pytest.mark.parametrize("model", PRACTICE_MODELS, ids=_label)
def test_practice_data_has_a_scoped_default_manager(model):
    manager = model._default_manager
    assert hasattr(manager, "with_scopes_disabled"), "the default manager must be a ScopedManager"
    assert model.objects is manager
    assert model._meta.get_field("practice").db_index


@pytest.mark.django_db
@pytest.mark.parametrize("model", PRACTICE_MODELS, ids=_label)
def test_practice_data_refuses_a_query_outside_a_scope(model, world):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(pk=1).first()
    with practice_scope(world.practice_a):
        sql = str(model.objects.all().query)
    column = f'"{model._meta.db_table}"."practice_id" = {world.practice_a.pk}'
    assert column in sql, sql
