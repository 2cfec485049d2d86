"""Every URL with every role: who gets in, who is refused, and how."""

import pytest
from django.db import transaction
from django.urls import reverse

from audit.models import AuditEvent
from tests.access import (
    routes_accounts,
    routes_admin,
    routes_appointments,
    routes_audit,
    routes_calendarfeed,
    routes_compliance,
    routes_console,
    routes_continuity,
    routes_fhir,
    routes_onboarding,
    routes_patients,
)
from tests.personas import PERSONAS

ALL_ROUTES = [
    *routes_accounts.ROUTES,
    *routes_appointments.ROUTES,
    *routes_audit.ROUTES,
    *routes_calendarfeed.ROUTES,
    *routes_compliance.ROUTES,
    *routes_console.ROUTES,
    *routes_continuity.ROUTES,
    *routes_fhir.ROUTES,
    *routes_onboarding.ROUTES,
    *routes_patients.ROUTES,
]

PRACTICE_A_MEMBERS = {"telesecretary_a", "telesecretary_ab", "practitioner_a", "manager_a"}


def _expected_status(route, persona: str) -> int:
    if persona in route.allowed:
        return route.ok_status
    if persona == "anonymous":
        return 302
    if route.practice_scoped and persona not in PRACTICE_A_MEMBERS:
        return 404
    return 403


@pytest.mark.django_db
@pytest.mark.parametrize("route", ALL_ROUTES, ids=lambda r: f"{r.name}-{r.method}")
def test_route_answers_each_persona_as_declared(world, route):
    # One world per route; each persona's request runs in a savepoint rolled back
    # afterwards, so a POST by one persona does not change what the next one sees.
    # Objects the route names are made once, before the savepoints.
    url = reverse(route.name, kwargs=route.kwargs(world))
    data = route.data(world)
    for persona in PERSONAS:
        with transaction.atomic():
            _check_persona(world, route, persona, url, data)
            transaction.set_rollback(True)


def _check_persona(world, route, persona: str, url: str, data: dict, client=None) -> None:
    client = client or world.client(persona)
    last_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    response = getattr(client, route.method)(url, data=data)
    expected = _expected_status(route, persona)
    assert response.status_code == expected, (url, persona, response.status_code)
    if expected == 302 and persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login")), persona
    actions = set(AuditEvent.objects.filter(id__gt=last_id).values_list("action", flat=True))
    if persona in route.allowed and route.audit_action:
        assert route.audit_action in actions, f"{persona}: the view must write its audit event"
    if expected in (403, 404):
        assert "permission_denied" in actions, f"{persona}: a refusal must be recorded"


@pytest.mark.django_db
def test_admin_routes_answer_each_persona_as_declared(world):
    # The admin's URLs (read from its URLconf, over a hundred) share one world:
    # the refusal comes before any object is read.
    clients = {persona: world.client(persona) for persona in PERSONAS}
    for route in routes_admin.ROUTES:
        url = reverse(route.name, kwargs=route.kwargs(world))
        for persona in PERSONAS:
            with transaction.atomic():
                _check_persona(world, route, persona, url, {}, clients[persona])
                transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route", [r for r in ALL_ROUTES if r.foreign], ids=lambda r: f"{r.name}-{r.method}"
)
def test_route_answers_404_for_another_practices_object(world, route):
    for persona in sorted(route.allowed):
        response = getattr(world.client(persona), route.method)(
            reverse(route.name, kwargs=route.foreign(world)), data=route.data(world)
        )
        assert response.status_code == 404, persona


def test_every_method_a_view_accepts_is_in_the_access_table():
    """URL x method x persona: a view answering POST (or PUT...) whose POST no
    route lists would escape the table, as the device reset once did."""
    from tests.access.methods import accepted_methods, url_views
    from tests.access.unlisted import UNLISTED

    listed: dict[str, set[str]] = {}
    for route in [*ALL_ROUTES, *routes_fhir.API_ROUTES]:
        listed.setdefault(route.name, set()).add(route.method.upper())
    missing = sorted(
        f"{name} {method}"
        for name, view in url_views()
        if name not in UNLISTED
        for method in accepted_methods(view) - listed.get(name, set())
    )
    assert not missing, f"add these (URL, method) pairs to the access table: {missing}"


@pytest.mark.django_db
def test_methods_read_from_the_views_are_the_ones_they_answer(world):
    """The table's completeness rests on accepted_methods(): every method it
    says a view refuses answers 405 to a persona allowed on the URL."""
    from django.urls import resolve

    from tests.access.methods import accepted_methods

    wrong, clients = [], {}
    for route in {route.name: route for route in ALL_ROUTES if route.allowed}.values():
        url = reverse(route.name, kwargs=route.kwargs(world))
        persona = sorted(route.allowed)[0]
        client = clients.setdefault(persona, world.client(persona))
        # GET, POST and one method no view takes: enough to check the reading.
        for method in sorted({"GET", "POST", "PUT"} - accepted_methods(resolve(url).func)):
            status = client.generic(method, url).status_code
            if status != 405:
                wrong.append(f"{route.name} {method}: {status}")
    assert not wrong, wrong


def test_every_url_is_in_the_access_table():
    from django.urls import get_resolver

    from tests.access.unlisted import UNLISTED

    routes = [*ALL_ROUTES, *routes_admin.ROUTES, *routes_fhir.API_ROUTES]
    listed = {route.name for route in routes} | UNLISTED
    names = _all_url_names(get_resolver())
    missing = sorted(name for name in names if name not in listed)
    assert not missing, f"add these URLs to the access table: {missing}"


def _all_url_names(resolver, namespace=""):
    from django.urls import URLPattern, URLResolver

    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _all_url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"
