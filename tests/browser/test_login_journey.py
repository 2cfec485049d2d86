import pytest

from accounts.roles import Role
from tests.accounts.helpers import PASSWORD, authenticator
from tests.factories import PracticeFactory, UserFactory, agreement, enrol_device, grant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_with_password_and_totp_reaches_home(page, live_server, screenshot_dir):
    practice = PracticeFactory(name="Cabinet des Lilas", slug="lilas")
    user = grant(UserFactory(username="julie"), Role.TELESECRETARY, practice)
    enrol_device(user)
    agreement()

    page.goto("/")
    assert page.url.endswith("/connexion/?next=/")
    page.fill("input[name=username]", "julie")
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/connexion/code/")
    page.fill("input[name=code]", authenticator().now())
    page.click("main button[type=submit]")
    # The charter comes first, then a telesecretary of one practice lands on its
    # call console (issue 14 item 7), which names the practice.
    page.wait_for_url("**/charte/")
    page.check("input[name=accept]")
    page.click("main button[type=submit]")
    page.wait_for_url("**/p/lilas/console/")
    assert "Cabinet des Lilas" in page.content()
    page.goto("/p/lilas/")
    assert page.locator("h1").inner_text() == "Cabinet des Lilas"
    page.screenshot(path=screenshot_dir / "practice-home.png")
