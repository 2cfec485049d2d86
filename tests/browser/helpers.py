"""Steps a person takes in the browser, shared by the journeys."""

from accounts.models import User
from tests.accounts.helpers import PASSWORD, authenticator
from tests.factories import agreement, enrol_device


def log_in(page, user: User, password: str = PASSWORD) -> None:
    """Password, TOTP code from the authenticator, charter when asked."""
    if not user.totpdevice_set.filter(confirmed=True).exists():
        enrol_device(user)
    agreement()
    page.goto("/connexion/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url("**/connexion/code/")
    page.fill("input[name=code]", authenticator().now())
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    if page.url.endswith("/charte/"):
        page.check("input[name=accept]")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
