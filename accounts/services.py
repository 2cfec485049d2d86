"""State changes of accounts and practices. Each writes its audit event in the
same transaction."""

from datetime import date

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.models import GroupObjectPermission

from accounts import otp
from accounts.models import (
    AgreementAcceptance,
    ConfidentialityAgreement,
    Membership,
    Practice,
    TOTPDevice,
    User,
)
from accounts.roles import (
    PRACTICE_ROLES,
    PROVIDER_ROLES,
    ROLE_PERMISSIONS,
    Role,
    practice_group_name,
    provider_group_name,
)
from accounts.selectors import provider_roles
from audit.context import Actor
from audit.models import Action
from audit.services import record_event


def _practice_groups_ensure(practice: Practice) -> None:
    """One group per role of this practice, holding its object permissions on
    the Practice (guardian's table, written in one bulk insert)."""
    names = {practice_group_name(practice.pk, role): role for role in PRACTICE_ROLES}
    if Group.objects.filter(name__in=names).count() == len(names):
        return
    Group.objects.bulk_create([Group(name=name) for name in names], ignore_conflicts=True)
    groups = Group.objects.filter(name__in=names)
    permissions = {
        perm.codename: perm
        for perm in Permission.objects.filter(content_type__app_label="accounts").filter(
            content_type=ContentType.objects.get_for_model(Practice)
        )
    }
    GroupObjectPermission.objects.bulk_create(
        [
            GroupObjectPermission(
                group=group,
                permission=permissions[codename],
                content_type=permissions[codename].content_type,
                object_pk=str(practice.pk),
            )
            for group in groups
            for codename in sorted(ROLE_PERMISSIONS[names[group.name]])
        ],
        ignore_conflicts=True,
    )


def provider_groups_ensure() -> None:
    for role in PROVIDER_ROLES:
        group, _ = Group.objects.get_or_create(name=provider_group_name(role))
        perms = Permission.objects.filter(
            content_type__app_label="accounts", codename__in=ROLE_PERMISSIONS[role]
        )
        group.permissions.set(perms)


def _group_for(membership: Membership) -> Group:
    if membership.practice_id:
        _practice_groups_ensure(membership.practice)
        return Group.objects.get(name=practice_group_name(membership.practice_id, membership.role))
    provider_groups_ensure()
    return Group.objects.get(name=provider_group_name(membership.role))


@transaction.atomic
def practice_create(
    *,
    name: str,
    slug: str,
    actor: Actor,
    timezone_name: str = "Europe/Paris",
    status: str = Practice.Status.ACTIVE,
) -> Practice:
    practice = Practice.objects.create(name=name, slug=slug, timezone=timezone_name, status=status)
    _practice_groups_ensure(practice)
    record_event(
        actor=actor,
        action=Action.CREATE,
        practice=practice,
        object_type="practice",
        object_id=practice.pk,
    )
    return practice


class MembershipError(Exception):
    """A refused change of a role, with a message (French) for the person."""


@transaction.atomic
def membership_grant(
    *,
    user: User,
    role: str,
    practice: Practice | None = None,
    actor: Actor,
    starts_on: date | None = None,
    ends_on: date | None = None,
    confirmed: bool = False,
) -> Membership:
    """Grant a role. A provider role takes effect at once. A practice role granted
    by the provider opens nothing until the practice confirms it
    (membership_confirm); compliance is alerted from the audit event
    (compliance.detectors.detect_role_grants). `confirmed=True` is for a system
    task only (demo data, a test world): no person is confirming."""
    if confirmed and not actor.system_name:
        raise MembershipError("Only a system task grants a practice role already confirmed.")
    membership, created = Membership.objects.update_or_create(
        user=user,
        practice=practice,
        role=role,
        defaults={"starts_on": starts_on or timezone.localdate(), "ends_on": ends_on},
    )
    pending = practice is not None and membership.confirmed_at is None and not confirmed
    if created:
        membership.granted_by = actor.user
        if practice is not None and confirmed:
            membership.confirmed_at = timezone.now()
        membership.save(update_fields=["granted_by", "confirmed_at"])
    if not pending:
        _group_for(membership).user_set.add(user)
    record_event(
        actor=actor,
        action=Action.ROLE_CHANGE,
        practice=practice,
        object_type="user",
        object_id=user.pk,
        detail={"role": role, "change": "grant", "membership": membership.pk, "pending": pending},
    )
    return membership


@transaction.atomic
def membership_confirm(*, membership: Membership, actor: Actor) -> Membership:
    """The practice confirms a role the provider granted: a practice manager of
    that practice, neither the person concerned nor the one who granted it.
    A practice with no manager yet cannot: its first manager is confirmed by a
    second platform admin (not the one who granted it); compliance is alerted
    from the audit event (docs/decisions.md, "Practice roles confirmed by the
    practice")."""
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    confirmer = actor.user
    if membership.practice_id is None or membership.confirmed_at is not None:
        raise MembershipError(_("Ce rôle n'attend pas de confirmation."))
    if confirmer is None or confirmer.pk in (membership.user_id, membership.granted_by_id):
        raise MembershipError(
            _(
                "Ce rôle doit être confirmé par une autre personne que son bénéficiaire "
                "et que son auteur."
            )
        )
    by_manager = _is_practice_manager(confirmer, membership.practice)
    if not by_manager and not _may_confirm_first_manager(confirmer, membership):
        raise MembershipError(_("Seul un responsable du cabinet peut confirmer ce rôle."))
    membership.confirmed_at = timezone.now()
    membership.confirmed_by = confirmer
    membership.save(update_fields=["confirmed_at", "confirmed_by"])
    _group_for(membership).user_set.add(membership.user)
    record_event(
        actor=actor,
        action=Action.ROLE_CHANGE,
        practice=membership.practice,
        object_type="user",
        object_id=membership.user_id,
        detail={
            "role": membership.role,
            "change": "confirm",
            "membership": membership.pk,
            "by": "manager" if by_manager else "platform",
        },
    )
    return membership


def _is_practice_manager(user: User, practice: Practice) -> bool:
    return (
        Membership.objects.active()
        .filter(user=user, practice=practice, role=Role.PRACTICE_MANAGER)
        .exists()
    )


def practice_has_manager(practice: Practice) -> bool:
    return (
        Membership.objects.active().filter(practice=practice, role=Role.PRACTICE_MANAGER).exists()
    )


def _may_confirm_first_manager(confirmer: User, membership: Membership) -> bool:
    return (
        membership.role == Role.PRACTICE_MANAGER
        and not practice_has_manager(membership.practice)
        and Role.PLATFORM_ADMIN in provider_roles(confirmer)
    )


@transaction.atomic
def membership_revoke(*, membership: Membership, actor: Actor) -> None:
    group = _group_for(membership)
    group.user_set.remove(membership.user)
    record_event(
        actor=actor,
        action=Action.ROLE_CHANGE,
        practice=membership.practice,
        object_type="user",
        object_id=membership.user_id,
        detail={"role": membership.role, "change": "revoke"},
    )
    membership.delete()


@transaction.atomic
def agreement_accept(*, agreement: ConfidentialityAgreement, actor: Actor) -> AgreementAcceptance:
    acceptance, created = AgreementAcceptance.objects.get_or_create(
        user=actor.user, agreement=agreement, defaults={"ip_address": actor.ip or None}
    )
    if not created:
        # A yearly re-acceptance of the same version renews the row.
        acceptance.accepted_at = timezone.now()
        acceptance.ip_address = actor.ip or None
        acceptance.save(update_fields=["accepted_at", "ip_address"])
    record_event(
        actor=actor,
        action=Action.AGREEMENT_ACCEPTED,
        object_type="agreement",
        object_id=agreement.version,
    )
    return acceptance


@transaction.atomic
def device_start_enrolment(*, user: User) -> tuple[TOTPDevice, bytes]:
    """An unconfirmed device with a fresh secret, replacing any earlier attempt."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    secret = otp.new_secret()
    device = TOTPDevice(user=user, name="TOTP", confirmed=False)
    device.set_secret(secret)
    device.save()
    return device, secret


@transaction.atomic
def device_confirm(*, device: TOTPDevice, actor: Actor) -> list[str]:
    """Confirm the device of the user the actor names (enrolment happens before
    the session is theirs: see accounts.views)."""
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = otp.recovery_codes_regenerate(user=device.user)
    record_event(
        actor=actor.for_user(device.user),
        action=Action.DEVICE_ENROLLED,
        object_type="user",
        object_id=device.user_id,
    )
    return codes
