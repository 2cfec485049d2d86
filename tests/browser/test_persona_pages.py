"""What only a browser shows, on the pages each role opens from its home page:
a style or script the Content-Security-Policy blocks, a script error, a
stylesheet or image that does not load. (Statuses, leaks and wording of every
page are the persona crawl's, tests/crawl/, on the test client: much faster.)"""

import pytest

from tests.appointments.helpers import booked, booking_world
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A few pages per role: its home, the pages its home links to, and one search.
PAGES_PER_PERSONA = 6


def _problems(page) -> list[str]:
    """Console errors (CSP refusals are reported there), page errors, failed loads."""
    found: list[str] = []
    page.on("console", lambda m: m.type == "error" and found.append(f"console: {m.text}"))
    page.on("pageerror", lambda error: found.append(f"script: {error}"))
    page.on(
        "response",
        lambda r: r.status >= 400 and found.append(f"{r.status} {r.request.resource_type} {r.url}"),
    )
    return found


def _walk(page, start: str) -> list[str]:
    """The start page, then the same-origin links it shows (logout aside)."""
    page.goto(start)
    links = page.eval_on_selector_all(
        "main a[href^='/'], nav a[href^='/']", "els => els.map(e => e.getAttribute('href'))"
    )
    visited = [start]
    for href in dict.fromkeys(links):
        if len(visited) >= PAGES_PER_PERSONA:
            break
        page.goto(href)
        visited.append(href)
    return visited


START = {
    "telesecretary_a": "/p/cabinet-a/",
    "practitioner_a": "/p/cabinet-a/",
    "manager_a": "/p/cabinet-a/",
    "compliance_officer": "/",
    "platform_admin": "/",
}


def test_pages_of_each_role_load_cleanly_in_chromium(browser, live_server, world):
    booking_world(world)
    booked(world, hour=10)
    report = {}
    for persona, start in START.items():
        context = browser.new_context(locale="fr-FR", base_url=live_server.url)
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems = _problems(page)
        log_in(page, world.users[persona])
        visited = _walk(page, start)
        if persona == "telesecretary_a":
            page.goto("/p/cabinet-a/patients/")
            page.fill("input[name=q]", "Lefèvre")
            page.click("main form button[type=submit]")
            page.wait_for_load_state()
        context.close()
        assert len(visited) > 2, (persona, visited)
        if problems:
            report[persona] = problems
    assert not report, report
