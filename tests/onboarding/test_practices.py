import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Practice, TOTPDevice, UserSession
from accounts.services import membership_grant
from audit.context import Actor
from onboarding.models import DeviceReset, Invitation, ProcessingContract
from tests.accounts.helpers import password_step
from tests.personas import verified_client
from tests.scoping import every_practice

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _new_practice(admin: Client) -> Practice:
    response = admin.post(
        reverse("platform:practice_new"),
        {
            "name": "Cabinet des Érables",
            "slug": "erables",
            "address": "3 rue des Érables, 69000 Lyon",
            "specialty": "Médecine générale",
            "timezone": "Europe/Paris",
            "finess": "",
            "siret": "",
        },
    )
    assert response.status_code == 302
    return Practice.objects.get(slug="erables")


def test_new_practice_starts_in_onboarding_and_is_invisible(world):
    practice = _new_practice(world.client("platform_admin"))
    assert practice.status == Practice.Status.ONBOARDING
    Membership.objects.create(
        user=world.users["telesecretary_a"],
        practice=practice,
        role="telesecretary",
        confirmed_at=timezone.now(),
    )
    client = world.client("telesecretary_a")
    assert client.get(reverse("accounts:practice_home", args=["erables"])).status_code == 404
    assert "Érables" not in client.get(reverse("accounts:home")).content.decode()


def test_activation_refused_until_checklist_complete(world):
    admin = world.client("platform_admin")
    practice = _new_practice(admin)
    response = admin.post(
        reverse("platform:practice_status", args=["erables"]), {"status": "active"}
    )
    assert response.status_code == 400
    assert "Étapes à terminer" in response.content.decode()
    practice.refresh_from_db()
    assert practice.status == Practice.Status.ONBOARDING


def test_full_onboarding_activates_and_gives_access(world):
    admin = world.client("platform_admin")
    _new_practice(admin)
    upload = SimpleUploadedFile("contrat.pdf", PDF, content_type="application/pdf")
    response = admin.post(
        reverse("platform:contract_upload", args=["erables"]),
        {"version": "2026-1", "signed_on": "2026-11-20", "pdf": upload},
    )
    assert response.status_code == 302
    contract = ProcessingContract.objects.get()
    assert PDF not in bytes(contract.encrypted_pdf)
    assert contract.pdf() == PDF
    admin.post(
        reverse("platform:practice_invite", args=["erables"]),
        {
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@example.org",
            "role": "practitioner",
        },
    )
    response = admin.post(
        reverse("platform:assignment_add", args=["erables"]),
        {"user": world.users["telesecretary_a"].pk, "starts_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    refused = admin.post(
        reverse("platform:practice_status", args=["erables"]), {"status": "active"}
    )
    assert "Clé de chiffrement" in refused.content.decode()
    assert admin.post(reverse("platform:data_key_create", args=["erables"])).status_code == 302
    assert admin.post(reverse("platform:data_key_create", args=["erables"])).status_code == 400
    assert admin.post(reverse("platform:agenda_starter", args=["erables"])).status_code == 302
    response = admin.post(
        reverse("platform:practice_status", args=["erables"]), {"status": "active"}
    )
    assert response.status_code == 302
    # Active, but the provider's grants wait for the practice: its first manager
    # (invited by this admin) is confirmed by a second admin, then confirms the
    # telesecretary.
    client = world.client("telesecretary_a")
    home = reverse("accounts:practice_home", args=["erables"])
    assert client.get(home).status_code == 404
    manager = _first_manager(world, admin)
    manager_client = verified_client(manager)
    assignment = Membership.objects.get(
        user=world.users["telesecretary_a"], practice__slug="erables"
    )
    response = manager_client.post(
        reverse("accounts:team_confirm", args=["erables", assignment.pk])
    )
    assert response.status_code == 302
    assert client.get(home).status_code == 200


def _first_manager(world, admin: Client):
    from accounts.roles import Role
    from tests.factories import UserFactory, grant

    admin.post(
        reverse("platform:practice_invite", args=["erables"]),
        {
            "first_name": "Marc",
            "last_name": "Dumas",
            "email": "marc@example.org",
            "role": "practice_manager",
        },
    )
    invitation = Invitation.objects.get(email="marc@example.org")
    user = UserFactory(username="marc")
    membership = membership_grant(
        user=user,
        role=invitation.role,
        practice=invitation.practice,
        actor=Actor(user=invitation.invited_by),
    )
    second = verified_client(grant(UserFactory(username="admin2"), Role.PLATFORM_ADMIN))
    response = second.post(reverse("platform:membership_confirm", args=["erables", membership.pk]))
    assert response.status_code == 302
    return user


def test_contract_upload_refuses_a_non_pdf(world):
    admin = world.client("platform_admin")
    _new_practice(admin)
    upload = SimpleUploadedFile("contrat.pdf", b"MZ\x90\x00 not a pdf")
    response = admin.post(
        reverse("platform:contract_upload", args=["erables"]),
        {"version": "1", "signed_on": "2026-11-20", "pdf": upload},
    )
    assert response.status_code == 400
    assert "PDF" in response.content.decode()
    assert not ProcessingContract.objects.exists()


def test_assignment_with_end_before_start_is_refused(world):
    admin = world.client("platform_admin")
    response = admin.post(
        reverse("platform:assignment_add", args=[world.practice_b.slug]),
        {
            "user": world.users["telesecretary_a"].pk,
            "starts_on": "2026-12-01",
            "ends_on": "2026-11-01",
        },
    )
    assert response.status_code == 400
    assert not Membership.objects.filter(
        user=world.users["telesecretary_a"], practice=world.practice_b
    ).exists()


def test_removed_assignment_loses_access_at_once(world):
    client = world.client("telesecretary_ab")
    url = reverse("accounts:practice_home", args=[world.practice_b.slug])
    assert client.get(url).status_code == 200
    membership = Membership.objects.get(
        user=world.users["telesecretary_ab"], practice=world.practice_b
    )
    world.client("platform_admin").post(
        reverse("platform:assignment_remove", args=[world.practice_b.slug, membership.pk])
    )
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("accounts:practice_home", args=[world.practice_a.slug])).status_code
        == 200
    )


def test_suspended_practice_gives_no_access(world):
    client = world.client("practitioner_a")
    world.client("platform_admin").post(
        reverse("platform:practice_status", args=[world.practice_a.slug]), {"status": "suspended"}
    )
    assert (
        client.get(reverse("accounts:practice_home", args=[world.practice_a.slug])).status_code
        == 404
    )


def test_device_reset_requires_verification_and_forces_enrolment(
    world, django_capture_on_commit_callbacks
):
    user = world.users["telesecretary_a"]
    user.email = "tele@example.org"
    user.save()
    victim_session = verified_client(user)
    admin = world.client("platform_admin")
    url = reverse("platform:device_reset", args=[user.pk])
    refused = admin.post(url, {"method": "video", "reference": ""})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=user).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, {"method": "video", "reference": "ticket 4521", "confirm": "on"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not UserSession.objects.filter(user=user).exists()
    assert DeviceReset.objects.get(user=user).reference == "ticket 4521"
    assert victim_session.get(reverse("accounts:home")).status_code == 302
    assert "réinitialisé" in mail.outbox[-1].subject
    login = password_step(Client(), user.username)
    assert login["Location"] == reverse("accounts:enrol")


def test_admin_cannot_reset_own_device(world):
    admin_user = world.users["platform_admin"]
    response = world.client("platform_admin").post(
        reverse("platform:device_reset", args=[admin_user.pk]),
        {"method": "video", "reference": "self", "confirm": "on"},
    )
    assert response.status_code == 400
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_dashboard_lists_practices_users_and_pending_invitations(world):
    admin = world.client("platform_admin")
    admin.post(
        reverse("platform:practice_invite", args=[world.practice_a.slug]),
        {
            "first_name": "Zoé",
            "last_name": "Invitée",
            "email": "zoe@example.org",
            "role": "practitioner",
        },
    )
    page = admin.get(reverse("platform:dashboard")).content.decode()
    assert "Cabinet A" in page and "Cabinet B" in page
    assert "tele_ab" in page
    assert "Zoé" in page


def test_duplicate_slug_is_refused_with_a_message(world):
    admin = world.client("platform_admin")
    response = admin.post(
        reverse("platform:practice_new"),
        {"name": "Autre", "slug": world.practice_a.slug, "timezone": "Europe/Paris"},
    )
    assert response.status_code == 400
    assert Practice.objects.filter(slug=world.practice_a.slug).count() == 1


def test_closing_needs_suspension_then_keys_are_shredded_after_grace(
    world, settings, tmp_path, audit_clock_unchecked
):
    from django.core.management import call_command
    from freezegun import freeze_time

    from onboarding.tasks import shred_closed_practices
    from patients.handover import read_documents
    from patients.models import PracticeKey
    from tests.patients.helpers import make_patient

    settings.PRACTICE_SHRED_AFTER_DAYS = 90
    make_patient(world.practice_a, last_name="Lefèvre")
    make_patient(world.practice_b, last_name="Martin")
    admin = world.client("platform_admin")
    status_url = reverse("platform:practice_status", args=[world.practice_a.slug])
    close_url = reverse("platform:practice_close", args=[world.practice_a.slug])
    assert admin.post(close_url, {"confirm": "on"}).status_code == 400
    admin.post(status_url, {"status": "suspended"})
    with freeze_time("2026-11-23 10:00:00"):
        assert admin.post(close_url, {"confirm": "on"}).status_code == 302
    output = tmp_path / "restitution"
    phrase = tmp_path / "phrase.txt"
    phrase.write_text("phrase-secrète-du-cabinet\n")
    call_command(
        "export_practice",
        "--practice",
        world.practice_a.slug,
        "--output",
        str(output),
        "--passphrase-file",
        str(phrase),
    )
    lines = list(read_documents(output, "phrase-secrète-du-cabinet"))
    assert [line["patient"]["last_name"] for line in lines] == ["Lefèvre"]
    call_command(
        "check_practice_export",
        "--input",
        str(output),
        "--passphrase-file",
        str(phrase),
        "--practice",
        world.practice_a.slug,
    )
    with freeze_time("2027-02-20 10:00:00"):
        assert shred_closed_practices() == 0
    with freeze_time("2027-02-22 10:00:00"):
        assert shred_closed_practices() == 1
        assert shred_closed_practices() == 0

    with every_practice():
        assert not PracticeKey.objects.filter(
            practice=world.practice_a, destroyed_at__isnull=True
        ).exists()
        assert PracticeKey.objects.filter(
            practice=world.practice_b, destroyed_at__isnull=True
        ).exists()


def test_agenda_starter_gives_types_and_hours_to_practitioners_without_hours(world):
    from accounts.scoping import practice_scope
    from appointments.models import AppointmentType, WorkingHours

    admin = world.client("platform_admin")
    url = reverse("platform:agenda_starter", args=[world.practice_a.slug])
    assert admin.post(url).status_code == 302
    assert admin.post(url).status_code == 302  # idempotent
    with practice_scope(world.practice_a):
        assert AppointmentType.objects.filter(practice=world.practice_a).count() == 3
        doctor_hours = WorkingHours.objects.filter(practitioner=world.users["practitioner_a"])
        assert doctor_hours.count() == 10
    with practice_scope(world.practice_b):
        assert not AppointmentType.objects.filter(practice=world.practice_b).exists()


OVERSEAS = {
    "Indian/Reunion": "La Réunion",
    "America/Guadeloupe": "Guadeloupe",
    "America/Martinique": "Martinique",
    "America/Cayenne": "Guyane",
    "Indian/Mayotte": "Mayotte",
    "America/Miquelon": "Saint-Pierre-et-Miquelon",
    "Pacific/Tahiti": "Polynésie française (Tahiti)",
    "Pacific/Noumea": "Nouvelle-Calédonie",
    "Pacific/Wallis": "Wallis-et-Futuna",
}


def test_new_practice_page_offers_overseas_time_zones_by_their_french_names(world):
    page = world.client("platform_admin").get(reverse("platform:practice_new")).content.decode()
    for zone, label in OVERSEAS.items():
        assert f'<option value="{zone}">{label}</option>' in page
    assert '<option value="Europe/Paris" selected>France métropolitaine et Corse</option>' in page


@pytest.mark.parametrize("zone", sorted(OVERSEAS))
def test_overseas_practice_is_onboarded_in_its_own_time_zone(world, zone):
    from appointments.selectors import practice_zone

    response = world.client("platform_admin").post(
        reverse("platform:practice_new"),
        {"name": "Cabinet du Lagon", "slug": "lagon", "address": "1 rue du Port", "timezone": zone},
    )
    assert response.status_code == 302
    practice = Practice.objects.get(slug="lagon")
    assert practice.timezone == zone
    assert practice_zone(practice).key == zone


def test_active_practice_without_processing_contract_is_flagged_to_the_admin(world):
    from onboarding.services import contract_record

    admin = world.client("platform_admin")
    page = reverse("platform:practice", args=[world.practice_a.slug])
    warning = "Cabinet actif sans contrat de sous-traitance enregistré"
    assert warning in admin.get(page).content.decode()
    dashboard = admin.get(reverse("platform:dashboard")).content.decode()
    assert dashboard.count("sans contrat de sous-traitance") == 2  # practices A and B
    contract_record(
        practice=world.practice_a,
        version="1",
        signed_on=timezone.localdate(),
        pdf=PDF,
        actor=Actor(user=world.users["platform_admin"]),
    )
    assert warning not in admin.get(page).content.decode()
    dashboard = admin.get(reverse("platform:dashboard")).content.decode()
    assert dashboard.count("sans contrat de sous-traitance") == 1


def test_practice_closure_shows_what_happens_and_needs_an_explicit_confirmation(world):
    from audit.models import AuditEvent
    from tests.patients.helpers import make_patient

    make_patient(world.practice_a)
    admin = world.client("platform_admin")
    slug = world.practice_a.slug
    admin.post(reverse("platform:practice_status", args=[slug]), {"status": "suspended"})
    close_url = reverse("platform:practice_close", args=[slug])
    # The practice page links to the confirmation page; no button closes at once.
    practice_page = admin.get(reverse("platform:practice", args=[slug])).content.decode()
    assert f'href="{close_url}"' in practice_page
    assert 'value="closed"' not in practice_page
    page = admin.get(close_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "ne peut pas être réactivé" in text
    assert "1 dossier patient" in text
    assert "accès de 4 personnes" in text  # telesecretaries a and ab, practitioner, manager
    # A post without the box ticked, or the old status button, closes nothing.
    refused = admin.post(close_url)
    assert refused.status_code == 400
    assert "Cochez la case pour confirmer la fermeture" in refused.content.decode()
    status_url = reverse("platform:practice_status", args=[slug])
    assert admin.post(status_url, {"status": "closed"}).status_code == 400
    world.practice_a.refresh_from_db()
    assert world.practice_a.status == Practice.Status.SUSPENDED
    assert not AuditEvent.objects.filter(detail__status_to="closed").exists()
    assert admin.post(close_url, {"confirm": "on"}).status_code == 302
    world.practice_a.refresh_from_db()
    assert world.practice_a.status == Practice.Status.CLOSED
    assert AuditEvent.objects.filter(detail__status_to="closed").exists()


def _checklist_step(admin: Client, label: str):
    response = admin.get(reverse("platform:practice", args=["erables"]))
    assert response.status_code == 200
    return next(step for step in response.context["checklist"] if step.label == label)


API_STEP = "Logiciel du cabinet relié par l'API FHIR"


def test_checklist_shows_the_api_client_as_an_optional_step(world):
    from fhir_api.services import api_client_register

    admin = world.client("platform_admin")
    practice = _new_practice(admin)
    step = _checklist_step(admin, API_STEP)
    assert not step.done and not step.required
    assert step.url == "/plateforme/api/clients/?cabinet=erables#enregistrer"
    page = admin.get(reverse("platform:practice", args=["erables"])).content.decode()
    assert "facultatif, n'empêche pas l'activation" in page
    # Another practice's client does not tick this practice's step.
    actor = Actor.system("test")
    api_client_register(practice=world.practice_a, name="A", scopes=["system/Slot.rs"], actor=actor)
    assert not _checklist_step(admin, API_STEP).done
    api_client, _secret = api_client_register(
        practice=practice, name="Logiciel", scopes=["system/Slot.rs"], actor=actor
    )
    assert _checklist_step(admin, API_STEP).done
    admin.post(f"/plateforme/api/clients/{api_client.pk}/revoquer/")
    assert not _checklist_step(admin, API_STEP).done


def test_optional_step_does_not_block_activation_but_a_required_one_does(world):
    admin = world.client("platform_admin")
    _new_practice(admin)
    response = admin.post(
        reverse("platform:practice_status", args=["erables"]), {"status": "active"}
    )
    assert response.status_code == 400
    assert "Contrat de sous-traitance" in response.content.decode()
    assert API_STEP not in response.content.decode()


def test_key_button_gives_way_to_a_notice_once_the_key_exists(world):
    admin = world.client("platform_admin")
    _new_practice(admin)
    page = reverse("platform:practice", args=["erables"])
    create = reverse("platform:data_key_create", args=["erables"])
    assert create in admin.get(page).content.decode()
    assert admin.post(create).status_code == 302
    after = admin.get(page).content.decode()
    assert create not in after
    assert "La clé de données de ce cabinet est créée." in after
