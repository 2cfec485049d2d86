"""What the property tests share: the project's forms (found in the code, not
listed by hand), hostile values, and the Hypothesis settings the suite runs with
(few examples, no deadline, derandomized so that CI sees the same examples)."""

import importlib
import pkgutil
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from django import forms
from django.apps import apps
from django.conf import settings as django_settings
from django.db.models import Model
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def project_apps() -> list[str]:
    """The apps of this repository (not Django's nor third parties'), and the
    core package: from the installed apps, not a list kept by hand."""
    # An app of ours sits directly in the repository; a virtualenv inside the
    # clone (.venv/lib/.../guardian) is below it too, but deeper.
    base = Path(django_settings.BASE_DIR).resolve()
    names = [
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == base
    ]
    return sorted({*names, "secretariat"})


FORM_EXAMPLES = 20
HTTP_EXAMPLES = 4
PARAM_EXAMPLES = 8

SETTINGS = dict(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
form_settings = settings(max_examples=FORM_EXAMPLES, **SETTINGS)
http_settings = settings(max_examples=HTTP_EXAMPLES, **SETTINGS)
param_settings = settings(max_examples=PARAM_EXAMPLES, **SETTINGS)


def project_forms() -> set[type[forms.BaseForm]]:
    """Every Form or ModelForm class defined in the project's apps: every module
    of each app is imported (migrations aside), then BaseForm's subclasses are
    kept when they were defined there."""
    project = project_apps()
    for package_name in project:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if ".migrations" in module.name or module.name.endswith(("wsgi", "asgi")):
                continue
            importlib.import_module(module.name)
    found: set[type[forms.BaseForm]] = set()
    pending = [forms.BaseForm]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] in project:
                found.add(subclass)
    return found


# Values a person or a script may post: the ends of the calendar, numbers too
# large for any column, digits that are not ASCII, control and bidirectional
# characters, a forged slot in an extreme UTC offset, very long text.
HOSTILE_LITERALS = [
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999999",
    "²",
    "²²²²²²",
    "١٢٣",
    "1e309",
    "NaN",
    "9999-12-31",
    "0001-01-01",
    "31/12/9999",
    "01/01/0001",
    "2026-02-30",
    "24:00",
    "9999-12-31 23:59",
    "0001-01-01T00:00",
    "1|9999-12-31T23:59:00-23:59",
    "1|0001-01-01T00:00:00+23:59",
    "Dupont\u202e",
    "Du\u2066pont",
    "ligne\x00nulle",
    "\x1b[31mrouge",
    "a" * 5000,
    "'; DROP TABLE patients_patient; --",
    "<script>alert(1)</script>",
    "00000000-0000-0000-0000-000000000000",
]

hostile_text = st.one_of(
    st.sampled_from(HOSTILE_LITERALS),
    st.text(max_size=30),
    st.integers().map(str),
    st.dates().map(date.isoformat),
    st.datetimes().map(datetime.isoformat),
)


def as_post_value(value) -> str | list[str]:
    """A cleaned-like value as a browser would post it."""
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, (list, tuple, set)) or hasattr(value, "model"):
        return [as_post_value(item) for item in value]
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, (int, Decimal, UUID)):
        return str(value)
    return "" if value is None else str(value)


def latest_sane_date() -> date:
    from secretariat import inputs

    return inputs.SCHEDULE.bounds()[1]


def password_field(field: forms.Field) -> bool:
    return isinstance(field.widget, forms.PasswordInput)


def text_area(field: forms.Field) -> bool:
    return isinstance(field.widget, forms.Textarea)
