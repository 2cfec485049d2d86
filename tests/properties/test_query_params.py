"""Hypothesis over every query parameter a GET view reads (issue 12): hostile
values never answer 5xx; what the view cannot use is a 4xx, never a silent 500.

The parameters are read from the code (`request.GET.get("…")`,
`inputs.date_param(request.GET, "…")`, `inputs.id_param(…)`, and the fields of a
form bound to `request.GET`): a parameter missing from PARAMS fails the suite."""

import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import given

from tests import report
from tests.access.test_access import ALL_ROUTES
from tests.personas import World
from tests.properties.strategies import (
    hostile_text,
    param_settings,
    project_apps,
    project_forms,
)

pytestmark = pytest.mark.django_db

# parameter -> the GET pages that read it (route names of the access table;
# "accounts:login" is public and reached without a session).
PARAMS: dict[str, tuple[str, ...]] = {
    "next": ("accounts:login",),
    "date": ("appointments:my_day", "appointments:my_week", "appointments:practice_day"),
    "praticien": ("appointments:book_slot", "appointments:move", "console:patient"),
    "a_partir_du": ("appointments:book_slot", "appointments:move", "console:patient"),
    "type": ("appointments:waiting_list", "console:patient"),
    "patient": ("appointments:message_new",),
    "actuel": ("console:ringing",),
    "cabinet": ("fhir:clients",),
}
CASES = [(param, route) for param, routes in PARAMS.items() for route in routes]
EXAMPLES: Counter = Counter()

_READS = [
    re.compile(r"request\.GET\.(?:get|getlist)\(\s*\"(\w+)\""),
    re.compile(r"request\.GET\[\s*\"(\w+)\"\s*\]"),
    re.compile(r"_param\(\s*request\.GET\s*,\s*\"(\w+)\""),
]
_FORM_ON_GET = re.compile(r"(\w+Form)\(\s*request\.GET")


def parameters_read_in_code() -> set[str]:
    names: set[str] = set()
    forms_on_get: set[str] = set()
    for app in project_apps():
        for path in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            for pattern in _READS:
                names.update(pattern.findall(source))
            forms_on_get.update(_FORM_ON_GET.findall(source))
    for form in project_forms():
        if form.__name__ in forms_on_get:
            names.update(form.base_fields)
    return names


def test_every_query_parameter_read_is_covered():
    found = parameters_read_in_code()
    assert found - set(PARAMS) == set(), "query parameters with no property case"
    assert set(PARAMS) - found == set(), "cases naming a parameter no view reads"


def _page(world: World, route_name: str) -> tuple[Client, str]:
    if route_name == "accounts:login":
        return Client(), reverse(route_name)
    route = next(r for r in ALL_ROUTES if r.name == route_name and r.method == "get")
    return world.client(sorted(route.allowed)[0]), reverse(route.name, kwargs=route.kwargs(world))


@pytest.mark.parametrize(("param", "route_name"), CASES, ids=[f"{p}-{r}" for p, r in CASES])
def test_hostile_query_parameter_never_5xx(world, param, route_name):
    client, url = _page(world, route_name)

    @param_settings
    @given(value=hostile_text)
    def check(value):
        response = client.get(url, {param: value})
        EXAMPLES[param, route_name] += 1
        assert response.status_code < 500, (url, param, value)
        if response.status_code == 400:
            assert "Requête invalide" in response.content.decode()

    check()
    report.add(
        "Hypothesis: exemples par paramètre d'URL (5xx : 0)",
        f"{route_name} ?{param}=: {EXAMPLES[param, route_name]}",
    )
