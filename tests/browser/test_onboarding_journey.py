"""From an empty practice to a telesecretary booking its first appointment, every
step through the screens: the platform admin onboards, the invited practitioner
and telesecretary create their accounts and enrol TOTP, the telesecretary books."""

import re

import pyotp
import pytest
from django.core import mail

from accounts.models import Practice
from accounts.roles import Role
from appointments.models import Appointment
from tests.browser.helpers import log_in
from tests.factories import UserFactory, agreement, grant
from tests.scoping import every_practice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _submit(page, form_action: str) -> None:
    page.click(f"form[action$='{form_action}'] button[type=submit]")
    page.wait_for_load_state()


def _invite(page, slug: str, first: str, last: str, email: str, role: str) -> str:
    form = f"form[action$='/plateforme/cabinets/{slug}/inviter/']"
    page.fill(f"{form} input[name=first_name]", first)
    page.fill(f"{form} input[name=last_name]", last)
    page.fill(f"{form} input[name=email]", email)
    page.select_option(f"{form} select[name=role]", role)
    _submit(page, f"/plateforme/cabinets/{slug}/inviter/")
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"https?://[^/\s]+(/invitation/[^/\s]+/)", message.body).group(1)


def _accept_invitation(browser, live_server, link: str, username: str):
    context = browser.new_context(locale="fr-FR", base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(link)
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", "une phrase de passe vraiment longue")
    page.fill("input[name=password2]", "une phrase de passe vraiment longue")
    page.click("main button[type=submit]")
    page.wait_for_url("**/connexion/enrolement/")
    secret = page.locator("code.secret").inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secret).now())
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "codes de secours" in page.content()
    page.click("text=J'ai noté mes codes, continuer")
    page.wait_for_load_state()
    if page.url.endswith("/charte/"):
        page.check("input[name=accept]")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
    return page


def test_onboarding_to_first_booking(browser, live_server, page, screenshot_dir):
    agreement()
    admin = grant(UserFactory(username="admin.plateforme"), Role.PLATFORM_ADMIN)
    log_in(page, admin)

    page.goto("/plateforme/cabinets/nouveau/")
    page.fill("input[name=name]", "Cabinet des Érables")
    page.fill("input[name=slug]", "erables")
    page.fill("textarea[name=address]", "3 rue des Érables, 69003 Lyon")
    page.fill("input[name=specialty]", "Médecine générale")
    page.click("main button[type=submit]")
    page.wait_for_url("**/plateforme/cabinets/erables/")
    assert Practice.objects.get(slug="erables").status == Practice.Status.ONBOARDING

    page.fill("input[name=version]", "2026-1")
    page.fill("input[name=signed_on]", "2026-11-20")
    page.set_input_files(
        "input[name=pdf]", files=[{"name": "dpa.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    _submit(page, "/plateforme/cabinets/erables/contrat/")
    _submit(page, "/plateforme/cabinets/erables/cle/")
    doctor_link = _invite(page, "erables", "Claire", "Durand", "claire@example.org", "practitioner")
    tele_link = _invite(page, "erables", "Julie", "Martin", "julie@example.org", "telesecretary")

    manager_link = _invite(page, "erables", "Marc", "Dumas", "marc@example.org", "practice_manager")

    doctor_page = _accept_invitation(browser, live_server, doctor_link, "claire.durand")
    tele_page = _accept_invitation(browser, live_server, tele_link, "julie.martin")
    manager_page = _accept_invitation(browser, live_server, manager_link, "marc.dumas")
    # Not active yet: the telesecretary does not see the practice.
    tele_page.goto("/p/erables/")
    assert "Erreur 404" in tele_page.content()

    page.goto("/plateforme/cabinets/erables/")
    _submit(page, "/plateforme/cabinets/erables/agenda/")
    page.click("form[action$='/statut/'] button[value=active]")
    page.wait_for_load_state()
    assert Practice.objects.get(slug="erables").status == Practice.Status.ACTIVE
    page.screenshot(path=screenshot_dir / "onboarding-practice.png", full_page=True)

    # Active, but the roles the provider granted wait for the practice. The first
    # manager is confirmed by a second platform admin (not the inviter)...
    tele_page.goto("/p/erables/")
    assert "Erreur 404" in tele_page.content()
    tele_page.goto("/")
    assert "En attente de confirmation par le cabinet" in tele_page.content()
    second = browser.new_context(locale="fr-FR", base_url=live_server.url).new_page()
    log_in(second, grant(UserFactory(username="admin.second"), Role.PLATFORM_ADMIN))
    second.goto("/plateforme/cabinets/erables/")
    second.click("text=Confirmer ce premier responsable (second administrateur)")
    second.wait_for_load_state()
    assert "Responsable du cabinet confirmé" in second.content()
    # ... who confirms the practitioner and the telesecretary on the team page.
    manager_page.goto("/p/erables/equipe/")
    for _role in range(2):
        manager_page.locator("button:has-text('Confirmer')").first.click()
        manager_page.wait_for_load_state()
    assert "À confirmer" not in manager_page.content()
    manager_page.screenshot(path=screenshot_dir / "team-confirmed.png", full_page=True)

    # The telesecretary creates the caller's record, then books.
    tele_page.goto("/p/erables/patients/nouveau/")
    tele_page.fill("input[name=last_name]", "Lefèvre")
    tele_page.fill("input[name=first_names]", "Élodie")
    tele_page.fill("input[name=birth_date]", "14/07/1984")
    tele_page.fill("input[name=phone]", "06 12 34 56 78")
    tele_page.click("main form button[type=submit]")
    tele_page.wait_for_url("**/patients/*/")
    tele_page.goto("/p/erables/rendez-vous/nouveau/")
    tele_page.fill("input[name=q]", "0612345678")
    tele_page.click("main form button[type=submit]")
    tele_page.wait_for_load_state()
    tele_page.click("text=Choisir")
    tele_page.wait_for_load_state()
    tele_page.click("a:has-text('Consultation') >> nth=0")
    tele_page.wait_for_load_state()
    tele_page.locator("input[name=slot]").first.check()
    tele_page.fill("[name=reason]", "Renouvellement d'ordonnance")
    tele_page.click("form:has(input[name=slot]) button[type=submit]")
    tele_page.wait_for_url(re.compile(r".*/rendez-vous/[0-9a-f-]+/$"))
    tele_page.screenshot(path=screenshot_dir / "first-booking.png", full_page=True)

    with every_practice():
        appointment = Appointment.objects.select_related("practitioner").get()
    assert appointment.practitioner.username == "claire.durand"
    assert appointment.status == "booked"
    # The practitioner sees it on their agenda for that day.
    day = appointment.start.astimezone(appointment.start.tzinfo).date().isoformat()
    doctor_page.goto(f"/p/erables/rendez-vous/agenda/jour/?date={day}")
    assert "LEFÈVRE Élodie" in doctor_page.content()
