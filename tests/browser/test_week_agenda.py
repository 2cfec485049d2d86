"""The practitioner's week at a common laptop width: the seven days side by
side, Sunday included, without a horizontal scroll (issue 13 item 8)."""

import pytest

from tests.appointments.helpers import booked, booking_world
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Where each day column ends, against the visible part of the row of columns.
GEOMETRY = """() => {
  const row = document.querySelector('.columns');
  const box = row.getBoundingClientRect();
  return {
    scroll: row.scrollWidth, client: row.clientWidth, right: box.right,
    viewport: document.documentElement.clientWidth,
    columns: [...row.querySelectorAll('.column')].map(c => c.getBoundingClientRect().right),
  };
}"""


@pytest.mark.parametrize("width", [1280, 1366])
def test_week_agenda_shows_sunday_whole_at_laptop_width(
    browser, live_server, world, width, screenshot_dir
):
    setup = booking_world(world)
    booked(world, hour=10)
    context = browser.new_context(
        locale="fr-FR", base_url=live_server.url, viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, world.users["practitioner_a"])
    page.goto(f"/p/{world.practice_a.slug}/rendez-vous/agenda/semaine/?date={setup.monday}")
    geometry = page.evaluate(GEOMETRY)
    headings = page.locator(".column h2").all_inner_texts()
    page.screenshot(path=screenshot_dir / f"week-{width}.png")
    context.close()
    assert len(geometry["columns"]) == 7
    assert headings[-1].lower().startswith("dimanche"), headings
    assert geometry["scroll"] <= geometry["client"], geometry
    assert max(geometry["columns"]) <= min(geometry["right"], geometry["viewport"]), geometry
