"""Hypothesis over every form of the project (issue 12): what a form accepts is
sane (dates in range, no control or bidi characters; every field refuses a bidi
override and every date field the ends of the calendar), hostile input posted
to its page never answers 5xx, and a refused post writes nothing.

Examples start from `hypothesis.extra.django.from_form` (values of each field's
type) with one field replaced by a hostile value, or none. One world per form:
the form alone first (many examples, cheap), then posted to its page (few)."""

from collections import Counter
from datetime import date, datetime

import pytest
from django import forms
from django.apps import apps
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import from_field, from_form

from accounts.scoping import practice_scope
from secretariat import inputs
from tests import report
from tests.properties.cases import CASES, route_of
from tests.properties.strategies import (
    as_post_value,
    form_settings,
    hostile_text,
    http_settings,
    latest_sane_date,
    password_field,
    project_apps,
    project_forms,
    text_area,
)

pytestmark = pytest.mark.django_db

EXAMPLES: Counter = Counter()
# Rows every request may touch: its session.
ALWAYS_WRITTEN = frozenset({"accounts.usersession"})


def form_name(form_class) -> str:
    return f"{form_class.__module__.split('.')[0]}.{form_class.__name__}"


FORMS = sorted(CASES, key=form_name)


def test_every_form_of_the_apps_has_a_case():
    found = {form_name(form) for form in project_forms()}
    covered = {form_name(form) for form in CASES}
    assert found - covered == set(), "forms without a property case (tests/properties/cases.py)"
    assert covered - found == set(), "cases naming a form that is gone"


def _skip_field(field: forms.Field) -> bool:
    return password_field(field) or isinstance(field, (forms.BooleanField, forms.FileField))


def _assert_fields_refuse_bidi_and_far_dates(form_class, form_kwargs: dict) -> None:
    """Every field but passwords, boxes and files refuses a bidi override;
    every date field refuses the ends of the calendar."""
    for name, field in form_class(**form_kwargs).fields.items():
        if _skip_field(field):
            continue
        hostile = ["Du\u202epont"]
        if isinstance(field, forms.DateField | forms.DateTimeField):
            hostile += ["9999-12-31", "0001-01-01"]
        for value in hostile:
            form = form_class(data={name: value}, **form_kwargs)
            assert name in form.errors, f"{form_name(form_class)}.{name} accepts {value!r}"


def _overrides(form) -> dict:
    """Dates around today (from_field would look for dates its validators
    accept among all of year 1 to 9999), ends of the calendar included; fields
    from_field cannot build (a choice with no rows yet): hostile text."""
    today = date.today()
    days = st.dates(
        min_value=today.replace(year=today.year - 15), max_value=date(today.year + 3, 12, 31)
    )
    overrides = {}
    for name, field in form.fields.items():
        if isinstance(field, forms.DateTimeField):
            overrides[name] = st.one_of(
                days.map(lambda day: f"{day.isoformat()} 10:30"), hostile_text
            )
        elif isinstance(field, forms.DateField):
            overrides[name] = st.one_of(days.map(date.isoformat), hostile_text)
        else:
            try:
                from_field(field).validate()
            except Exception:  # noqa: BLE001 (hypothesis' own error types vary)
                overrides[name] = hostile_text
    return overrides


def _examples(form_class, form_kwargs: dict):
    names = sorted(form_class(**form_kwargs).fields)
    return st.tuples(
        from_form(form_class, form_kwargs=form_kwargs, **_overrides(form_class(**form_kwargs))),
        st.sampled_from(names),
        st.none() | hostile_text,
    )


def _post_data(example, prefix: str = "") -> tuple[dict, dict]:
    base, field, value = example
    data = {name: as_post_value(item) for name, item in base.data.items()}
    if value is not None:
        data[field] = value
    files = dict(base.files)
    if field in files and value is not None:
        del files[field]
    if prefix:
        data = {f"{prefix}-{name}": item for name, item in data.items()}
        files = {f"{prefix}-{name}": item for name, item in files.items()}
    return data, files


def _sane(value, field: forms.Field) -> bool:
    if isinstance(value, str):
        return password_field(field) or inputs.text_is_clean(value, multiline=text_area(field))
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        return date(1900, 1, 1) <= day <= latest_sane_date()
    if isinstance(value, list | tuple):
        return all(_sane(item, field) for item in value)
    return True


def _counts(practice) -> dict[str, int]:
    """Rows of every model of the apps (the audit trail aside: refusals are
    audited) visible in the practice's scope, in one query."""
    models = [
        model
        for model in apps.get_models()
        if model._meta.app_label in project_apps()
        and model._meta.app_label != "audit"
        and not model._meta.proxy
    ]
    selects = ", ".join(f'(SELECT count(*) FROM "{model._meta.db_table}")' for model in models)
    with practice_scope(practice), connection.cursor() as cursor:
        cursor.execute(f"SELECT {selects}")  # noqa: S608 (table names from the models)
        row = cursor.fetchone()
    return {model._meta.label_lower: count for model, count in zip(models, row, strict=True)}


def _page(world, form_class):
    case = CASES[form_class]
    page = case.page
    if page.reach is not None:
        client, url = page.reach(world)
        return client, url, {}, {}, page.method
    route = route_of(page)
    url_kwargs = route.kwargs(world)
    persona = sorted(route.allowed)[0]
    client = world.client(persona)
    url = reverse(route.name, kwargs=url_kwargs)
    return client, url, url_kwargs, {**route.data(world), **page.fixed(world)}, page.method


@pytest.mark.parametrize("form_class", FORMS, ids=form_name)
def test_form_refuses_the_absurd_and_its_page_never_answers_5xx(world, form_class):
    case = CASES[form_class]
    form_kwargs = case.form_kwargs(world)
    name = form_name(form_class)
    _assert_fields_refuse_bidi_and_far_dates(form_class, form_kwargs)

    @form_settings
    @given(example=_examples(form_class, form_kwargs))
    def form_alone(example):
        data, files = _post_data(example)
        form = form_class(data=data, files=files, **form_kwargs)
        valid = form.is_valid()  # never raises
        EXAMPLES[name, "form"] += 1
        if valid:
            for field, value in form.cleaned_data.items():
                assert _sane(value, form.fields[field]), (field, value)

    form_alone()

    client, url, url_kwargs, fixed, method = _page(world, form_class)
    prefix = case.prefix(url_kwargs)

    @http_settings
    @given(example=_examples(form_class, form_kwargs))
    def posted(example):
        data, files = _post_data(example, prefix)
        payload = {**fixed, **data, **files}
        valid = form_class(data=data, files=files, prefix=prefix or None, **form_kwargs).is_valid()
        # In a savepoint rolled back afterwards: an accepted example does not
        # change what the next one sees.
        with transaction.atomic():
            before = _counts(world.practice_a)
            response = getattr(client, method)(url, data=payload)
            after = _counts(world.practice_a)
            transaction.set_rollback(True)
        EXAMPLES[name, "http"] += 1
        assert response.status_code < 500, (url, payload)
        if not valid:
            # Refused: most pages answer 400 with the form again, inline forms
            # redirect with their error; none may write a row.
            changed = {
                label
                for label in before
                if before[label] != after[label]
                and label not in ALWAYS_WRITTEN | case.refusal_writes
            }
            assert changed == set(), (url, payload)

    posted()
    report.add(
        "Hypothesis: exemples par formulaire (5xx : 0)",
        f"{name}: {EXAMPLES[name, 'form']} au formulaire, {EXAMPLES[name, 'http']} postés",
    )
