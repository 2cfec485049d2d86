"""Idempotent demo data: practices, one user per role, pre-enrolled TOTP devices.

Passwords and TOTP secrets are derived from this installation's SECRET_KEY, so a
second run gives the same accounts and nothing secret lives in the repository.
Refused in production.
"""

import base64
import hashlib
import hmac
import json
from io import BytesIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from accounts import otp, services
from accounts.models import ConfidentialityAgreement, Practice, TOTPDevice, User
from accounts.roles import Role
from demo.agenda import demo_agenda
from demo.patients import demo_patients
from demo.people import DEMO_PRACTICES, DEMO_USERS, SEED
from onboarding.models import ProcessingContract
from onboarding.services import contract_record

AGREEMENT_TEXT = """\
En accédant aux données de santé des patients des cabinets, je m'engage à :
- ne consulter que les informations nécessaires à ma mission ;
- ne jamais communiquer ces informations à un tiers non autorisé ;
- signaler sans délai toute perte, tout vol ou tout accès suspect ;
- protéger mes identifiants et mon appareil d'authentification.
Chaque accès est enregistré dans un journal d'audit infalsifiable."""


def _derived(purpose: str, username: str, length: int) -> bytes:
    message = f"seed_demo:{purpose}:{username}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).digest()[:length]


def demo_password(username: str) -> str:
    return "Demo-" + base64.urlsafe_b64encode(_derived("password", username, 12)).decode()


def demo_totp_secret(username: str) -> bytes:
    return _derived("totp", username, 20)


def _demo_contract_pdf(practice_name: str) -> bytes:
    """A one-page stand-in for the signed agreement, saying what it is."""
    out = BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    page.drawString(72, 770, "Contrat de sous-traitance (art. 28 RGPD) - DEMONSTRATION")
    page.drawString(72, 750, practice_name)
    page.drawString(72, 730, "Document fictif : aucune valeur contractuelle.")
    page.showPage()
    page.save()
    return out.getvalue()


def _practice_data(practices: dict[str, Practice]) -> list[dict]:
    described = [
        {"name": name, "patients": demo_patients(practice, index)}
        for index, (name, practice) in enumerate(practices.items())
    ]
    # After the patients: their appointments need them.
    for practice in practices.values():
        demo_agenda(practice)
    return described


class Command(BaseCommand):
    help = "Crée (ou met à jour) les données de démonstration. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Affiche les données en JSON.")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo est refusé en production.")
        with transaction.atomic():
            practices = {spec["name"]: self._practice(spec) for spec in DEMO_PRACTICES}
            users = [self._user(spec, practices) for spec in DEMO_USERS]
            ConfidentialityAgreement.objects.get_or_create(
                version=1,
                defaults={"title": "Charte de confidentialité", "text": AGREEMENT_TEXT},
            )
            practice_data = _practice_data(practices)
        data = {"users": users, "practices": practice_data}
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
        else:
            self._print_accounts(users)

    def _practice(self, spec: dict) -> Practice:
        practice = Practice.objects.filter(slug=spec["slug"]).first()
        if practice is None:
            practice = services.practice_create(name=spec["name"], slug=spec["slug"], actor=SEED)
        contact = {name: spec.get(name, "") for name in ("dpo_name", "dpo_email", "dpo_phone")}
        if not practice.dpo_name:
            Practice.objects.filter(pk=practice.pk).update(**contact)
        # Onboarding's checklist asks for the identity: an active demo practice has it.
        if not practice.address:
            identity = {name: spec[name] for name in ("address", "specialty")}
            Practice.objects.filter(pk=practice.pk).update(**identity)
        # An active practice works under a data processing agreement (GDPR art. 28):
        # the demo records one the way onboarding does, so that no practice is
        # shown active without it.
        if not ProcessingContract.objects.filter(practice=practice).exists():
            contract_record(
                practice=practice,
                version="démo-1",
                signed_on=timezone.localdate(),
                pdf=_demo_contract_pdf(practice.name),
                actor=SEED,
            )
        return practice

    def _user(self, spec: dict, practices: dict[str, Practice]) -> dict:
        username = spec["username"]
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": spec["first_name"], "last_name": spec["last_name"]},
        )
        if created or not user.check_password(demo_password(username)):
            user.set_password(demo_password(username))
            user.save()
        secret = demo_totp_secret(username)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None or device.secret() != secret:
            TOTPDevice.objects.filter(user=user).delete()
            device = TOTPDevice(user=user, name="TOTP", confirmed=True)
            device.set_secret(secret)
            device.save()
        role = Role(spec["role"])
        names = spec.get("practices", [])
        if names:
            for name in names:
                self._grant(user, role, practices[name])
        else:
            self._grant(user, role, None)
        return {
            "username": username,
            "password": demo_password(username),
            "role": role.value,
            "practices": names,
            "otpauth": otp.provisioning_uri(user, secret),
        }

    def _grant(self, user: User, role: str, practice: Practice | None) -> None:
        if not user.memberships.filter(role=role, practice=practice).exists():
            services.membership_grant(
                user=user, role=role, practice=practice, actor=SEED, confirmed=True
            )

    def _print_accounts(self, users: list[dict]) -> None:
        self.stdout.write(self.style.SUCCESS("Comptes de démonstration (données fictives) :"))
        for user in users:
            where = ", ".join(user["practices"]) or "prestataire"
            self.stdout.write(
                f"  {user['username']:<18} {user['password']:<22} {user['role']:<20} {where}"
            )
            self.stdout.write(f"      TOTP : {user['otpauth']}")
        self.stdout.write(
            "Ajoutez le lien otpauth:// dans une application d'authentification "
            "(ou lisez le code avec `oathtool`), puis connectez-vous sur http://127.0.0.1:8000"
        )
