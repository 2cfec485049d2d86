"""Onboarding of practices and people by a platform admin. Each operation
writes its audit event in the same transaction."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import Membership, Practice, RecoveryCode, TOTPDevice, User
from accounts.roles import PRACTICE_ROLES, Role
from accounts.scoping import practice_scope
from accounts.sessions import sessions_end
from appointments.models import AppointmentType, WorkingHours
from appointments.services.schedule import agenda_starter_apply
from audit.context import Actor
from audit.models import Action
from audit.services import record_event
from compliance import notices
from onboarding.models import DeviceReset, Invitation, ProcessingContract
from outbox import services as outbox
from patients.keys import practice_key_create
from patients.models import PracticeKey
from patients.rotation import ShredRefused, shred_practice_key
from secretariat import inputs

INVITATION_LIFETIME = timedelta(hours=72)
MAX_CONTRACT_BYTES = 10 * 1024 * 1024


class OnboardingError(Exception):
    """A refused operation, with a message for the person who asked."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def practice_onboard_start(*, actor: Actor, **identity) -> Practice:
    if Practice.objects.filter(slug=identity["slug"]).exists():
        raise OnboardingError(_("Cet identifiant d'URL est déjà utilisé par un autre cabinet."))
    practice = account_services.practice_create(
        name=identity["name"],
        slug=identity["slug"],
        actor=actor,
        timezone_name=identity.get("timezone") or "Europe/Paris",
        status=Practice.Status.ONBOARDING,
    )
    practice_identity_update(practice=practice, actor=actor, **identity)
    return practice


IDENTITY_FIELDS = (
    "name",
    "address",
    "specialty",
    "timezone",
    "finess",
    "siret",
    "dpo_name",
    "dpo_email",
    "dpo_phone",
)


@transaction.atomic
def practice_identity_update(*, practice: Practice, actor: Actor, **identity) -> Practice:
    inputs.check_text(
        *(
            identity.get(name) or ""
            for name in ("name", "specialty", "dpo_name", "dpo_email", "dpo_phone")
        ),
        error=OnboardingError,
    )
    inputs.check_text(identity.get("address") or "", multiline=True, error=OnboardingError)
    for field in IDENTITY_FIELDS:
        if field in identity:
            setattr(practice, field, identity[field] or "")
    practice.save()
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=practice,
        object_type="practice",
        object_id=practice.pk,
    )
    return practice


@transaction.atomic
def contract_record(
    *,
    practice: Practice,
    version: str,
    signed_on: date,
    pdf: bytes,
    actor: Actor,
) -> ProcessingContract:
    inputs.PAST.check(signed_on, error=OnboardingError)
    inputs.check_text(version, error=OnboardingError)
    if not pdf.startswith(b"%PDF-"):
        raise OnboardingError(_("Le fichier doit être un PDF."))
    if len(pdf) > MAX_CONTRACT_BYTES:
        raise OnboardingError(_("Le PDF dépasse 10 Mo."))
    contract = ProcessingContract(
        practice=practice, version=version, signed_on=signed_on, uploaded_by=actor.user
    )
    contract.set_pdf(pdf)
    contract.save()
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="contract",
        object_id=contract.pk,
    )
    return contract


@transaction.atomic
def invitation_create(
    *,
    email: str,
    first_name: str,
    last_name: str,
    role: str,
    practice: Practice | None,
    actor: Actor,
    site_url: str,
) -> Invitation:
    """`site_url` (scheme and host, no trailing slash) starts the link mailed."""
    inputs.check_text(first_name, last_name, error=OnboardingError)
    if (role in PRACTICE_ROLES) != (practice is not None):
        raise OnboardingError(_("Ce rôle ne correspond pas à ce type d'invitation."))
    if User.objects.filter(email__iexact=email).exists():
        raise OnboardingError(
            _("Un compte existe déjà pour cette adresse : affectez-le plutôt au cabinet.")
        )
    invitation = Invitation.objects.create(
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        practice=practice,
        # A token nobody holds: invitation_mail makes the one the e-mail carries.
        token_digest=_digest(secrets.token_urlsafe(32)),
        link_origin=site_url[:200],
        expires_at=timezone.now() + INVITATION_LIFETIME,
        invited_by=actor.user,
    )
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="invitation",
        object_id=invitation.pk,
        detail={"role": role},
    )
    outbox.enqueue("onboarding.tasks.invitation_mail", invitation_id=invitation.pk)
    return invitation


def invitation_mail(*, invitation_id: int) -> bool:
    """Make the invitation's token and mail its link (from a task). The token
    leaves this function in the e-mail only. The mail is sent inside the row's
    transaction: a failed send changes nothing and the task's retry sends it; a
    mail whose commit then fails holds a dead link, and the retry sends a live one."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None or invitation.mailed_at is not None or not invitation.is_pending:
            return False
        token = secrets.token_urlsafe(32)
        invitation.token_digest = _digest(token)
        invitation.mailed_at = timezone.now()
        invitation.save(update_fields=["token_digest", "mailed_at"])
        link = invitation.link_origin + reverse("invitation_accept", args=[token])
        _send_invitation(invitation, link)
    return True


def _send_invitation(invitation: Invitation, link: str) -> None:
    body = _(
        "Bonjour %(name)s,\n\nVous êtes invité(e) sur Secretariat en tant que %(role)s.\n"
        "Ce lien personnel est valable 72 heures et ne sert qu'une fois :\n%(link)s\n\n"
        "Vous choisirez votre mot de passe puis activerez la double authentification."
    ) % {"name": invitation.first_name, "role": Role(invitation.role).label, "link": link}
    send_mail(
        _("Votre invitation sur Secretariat"),
        body,
        settings.DEFAULT_FROM_EMAIL,
        [invitation.email],
    )


def invitation_for_token(token: str) -> Invitation | None:
    invitation = Invitation.objects.filter(token_digest=_digest(token)).first()
    if invitation is None or not invitation.is_pending:
        return None
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, username: str, password: str, actor: Actor) -> User:
    """`actor` is the anonymous request accepting; the events name the new user."""
    invitation = Invitation.objects.select_for_update().filter(token_digest=_digest(token)).first()
    if invitation is None or not invitation.is_pending:
        raise OnboardingError(_("Ce lien d'invitation n'est plus valable."))
    candidate = User(
        username=username,
        email=invitation.email,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
    )
    validate_password(password, user=candidate)
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise ValidationError(_("Cet identifiant est déjà pris.")) from None
    account_services.membership_grant(
        user=candidate,
        role=invitation.role,
        practice=invitation.practice,
        actor=actor.for_user(invitation.invited_by),
    )
    invitation.accepted_at = timezone.now()
    invitation.user = candidate
    invitation.save(update_fields=["accepted_at", "user"])
    record_event(
        actor=actor.for_user(candidate),
        action=Action.UPDATE,
        practice=invitation.practice,
        object_type="invitation",
        object_id=invitation.pk,
        detail={"change": "accepted"},
    )
    return candidate


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor) -> None:
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=invitation.practice,
        object_type="invitation",
        object_id=invitation.pk,
        detail={"change": "revoked"},
    )


@transaction.atomic
def assignment_add(
    *,
    user: User,
    practice: Practice,
    starts_on: date,
    ends_on: date | None,
    actor: Actor,
) -> Membership:
    inputs.SCHEDULE.check(starts_on, error=OnboardingError)
    inputs.SCHEDULE.check(ends_on, error=OnboardingError)
    if ends_on is not None and ends_on < starts_on:
        raise OnboardingError(_("La date de fin précède la date de début."))
    membership = account_services.membership_grant(
        user=user,
        role=Role.TELESECRETARY,
        practice=practice,
        actor=actor,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    notices.notify(
        kind=notices.Kind.ROLE_GRANTED,
        key=f"role_granted:{membership.pk}:{starts_on.isoformat()}",
        recipients=[notices.Recipient(user)],
        practice=practice,
        params={
            "role": membership.role,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
            "pending": membership.confirmed_at is None,
        },
    )
    return membership


@transaction.atomic
def device_reset(*, user: User, method: str, reference: str, actor: Actor) -> DeviceReset:
    if user == actor.user:
        raise OnboardingError(_("Un administrateur ne réinitialise pas son propre appareil."))
    TOTPDevice.objects.filter(user=user).delete()
    RecoveryCode.objects.filter(user=user).delete()
    ended = sessions_end(user=user)
    reset = DeviceReset.objects.create(
        user=user, performed_by=actor.user, method=method, reference=reference
    )
    record_event(
        actor=actor,
        action=Action.KEY_OPERATION,
        object_type="user",
        object_id=user.pk,
        detail={"operation": "totp_device_reset", "method": method, "sessions_ended": ended},
    )
    if user.email:
        outbox.enqueue("onboarding.tasks.device_reset_notify", reset_id=reset.pk)
    return reset


def device_reset_notify(*, reset_id: int) -> bool:
    """Tell the user their device was reset (from a task), once; sent inside the
    row's transaction, so a failed send is retried and a sent one is not."""
    with transaction.atomic():
        reset = (
            DeviceReset.objects.select_for_update()
            .select_related("user")
            .filter(pk=reset_id, notified_at__isnull=True)
            .first()
        )
        if reset is None or not reset.user.email:
            return False
        reset.notified_at = timezone.now()
        reset.save(update_fields=["notified_at"])
        _notify_device_reset(reset.user)
    return True


def _notify_device_reset(user: User) -> None:
    send_mail(
        _("Votre appareil d'authentification a été réinitialisé"),
        _(
            "Bonjour %(name)s,\n\nVotre appareil de double authentification a été "
            "réinitialisé par un administrateur. À votre prochaine connexion, vous "
            "enregistrerez un nouvel appareil. Si vous n'êtes pas à l'origine de cette "
            "demande, prévenez immédiatement le délégué à la conformité."
        )
        % {"name": user.first_name or user.username},
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


@dataclass(frozen=True)
class ChecklistStep:
    label: str
    done: bool
    required: bool = True
    url: str = ""


def onboarding_checklist(practice: Practice) -> list[ChecklistStep]:
    """The steps before activation, then the optional ones other apps declare
    (an AppConfig's `onboarding_steps(practice)` giving (label, done, url)):
    onboarding stays independent of them (import contract)."""
    required = [ChecklistStep(label, done) for label, done in _required_steps(practice)]
    optional = [
        ChecklistStep(label, done, required=False, url=url)
        for config in apps.get_app_configs()
        if hasattr(config, "onboarding_steps")
        for label, done, url in config.onboarding_steps(practice)
    ]
    return required + optional


def _required_steps(practice: Practice) -> list[tuple[str, bool]]:
    # Granted roles count, confirmed or not: the practice confirms them in its own
    # pages, which it reaches once active.
    memberships = Membership.objects.granted().filter(practice=practice)
    pending = Invitation.objects.filter(
        practice=practice, accepted_at__isnull=True, revoked_at__isnull=True
    )
    practitioners = (
        memberships.filter(role=Role.PRACTITIONER).exists()
        or pending.filter(role=Role.PRACTITIONER).exists()
    )
    return [
        (_("Identité du cabinet"), bool(practice.name and practice.address)),
        (_("Contrat de sous-traitance (art. 28 RGPD)"), practice.processingcontract_set.exists()),
        (_("Clé de chiffrement des données créée"), practice_has_data_key(practice)),
        (_("Types de rendez-vous et horaires des praticiens"), _agenda_ready(practice)),
        (_("Au moins un praticien"), practitioners),
        (
            _("Au moins un·e télésecrétaire affecté·e"),
            memberships.filter(role=Role.TELESECRETARY).exists(),
        ),
    ]


def practice_has_data_key(practice: Practice) -> bool:
    with practice_scope(practice):
        return PracticeKey.objects.filter(practice=practice, destroyed_at__isnull=True).exists()


def _agenda_ready(practice: Practice) -> bool:
    with practice_scope(practice):
        if not AppointmentType.objects.filter(practice=practice).exists():
            return False
        practitioners = Membership.objects.granted().filter(
            practice=practice, role=Role.PRACTITIONER
        )
        scheduled = WorkingHours.objects.filter(practice=practice).values("practitioner")
        return not practitioners.exclude(user__in=scheduled).exists()


@transaction.atomic
def agenda_starter(*, practice: Practice, actor: Actor) -> dict[str, int]:
    with practice_scope(practice):
        return agenda_starter_apply(practice=practice, actor=actor)


@transaction.atomic
def data_key_create(*, practice: Practice, actor: Actor) -> None:
    if practice_has_data_key(practice):
        raise OnboardingError(_("Ce cabinet a déjà sa clé de chiffrement."))
    key = practice_key_create(practice_id=practice.pk)
    record_event(
        actor=actor,
        action=Action.KEY_OPERATION,
        practice=practice,
        object_type="practice_key",
        object_id=key.version,
        detail={"operation": "create"},
    )


@transaction.atomic
def practice_status_change(*, practice: Practice, status: str, actor: Actor) -> Practice:
    allowed = {
        Practice.Status.ACTIVE: {Practice.Status.ONBOARDING, Practice.Status.SUSPENDED},
        Practice.Status.SUSPENDED: {Practice.Status.ACTIVE},
        Practice.Status.CLOSED: {Practice.Status.SUSPENDED},
    }
    if practice.status not in allowed.get(status, set()):
        raise OnboardingError(_("Ce changement de statut n'est pas possible."))
    if practice.status == Practice.Status.ONBOARDING:
        missing = [
            step.label for step in onboarding_checklist(practice) if step.required and not step.done
        ]
        if missing:
            raise OnboardingError(
                _("Étapes à terminer avant l'activation : %(steps)s")
                % {"steps": ", ".join(str(step) for step in missing)}
            )
    previous = practice.status
    practice.status = status
    if status == Practice.Status.CLOSED:
        practice.closed_at = timezone.now()
    practice.save(update_fields=["status", "closed_at"])
    record_event(
        actor=actor,
        action=Action.UPDATE,
        practice=practice,
        object_type="practice",
        object_id=practice.pk,
        detail={"status_from": previous, "status_to": status},
    )
    return practice


SHRED_TASK = Actor.system("shred_closed_practices")


def practices_due_for_shredding(now=None) -> list[Practice]:
    cutoff = (now or timezone.now()) - timedelta(days=settings.PRACTICE_SHRED_AFTER_DAYS)
    return list(
        Practice.objects.filter(status=Practice.Status.CLOSED, closed_at__lte=cutoff).order_by("pk")
    )


def closed_practice_shred(*, practice: Practice) -> bool:
    """Destroy a closed practice's data keys once its grace period is over.
    Idempotent: a practice whose keys are gone is left as it is. A practice
    with no hand-over export recorded since its closure keeps its keys: the
    refusal is audited, and compliance's detectors alert on it."""
    if practice.status != Practice.Status.CLOSED or not practice_has_data_key(practice):
        return False
    try:
        shred_practice_key(practice=practice, actor=SHRED_TASK)
    except ShredRefused:
        return False
    return True
