"""State changes of accounts and practices. Each writes its audit event in the
same transaction."""

from datetime import date

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
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
    practice_group_name,
    provider_group_name,
)
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


@transaction.atomic
def membership_grant(
    *,
    user: User,
    role: str,
    practice: Practice | None = None,
    actor: Actor,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user,
        practice=practice,
        role=role,
        defaults={"starts_on": starts_on or timezone.localdate(), "ends_on": ends_on},
    )
    _group_for(membership).user_set.add(user)
    record_event(
        actor=actor,
        action=Action.ROLE_CHANGE,
        practice=practice,
        object_type="user",
        object_id=user.pk,
        detail={"role": role, "change": "grant"},
    )
    return membership


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
