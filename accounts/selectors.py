from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone
from guardian.core import ObjectPermissionChecker

from accounts.models import ConfidentialityAgreement, Membership, Practice, User
from accounts.roles import PROVIDER_ROLES, ROLE_PERMISSIONS, Role


@dataclass(frozen=True)
class PracticeAccess:
    practice: Practice
    roles: frozenset[str]
    user: User | None = field(default=None, compare=False, repr=False)

    def allows(self, codename: str) -> bool:
        return any(codename in ROLE_PERMISSIONS[role] for role in self.roles)

    @cached_property
    def granted(self) -> frozenset[str]:
        """django-guardian's object permissions of the user on the practice,
        read once per request (one query) instead of once per check: the
        decorator, the page's buttons and the navigation all ask. Membership
        changes take effect on the next request, which resolves a new access."""
        if self.user is None or not self.user.is_active:
            return frozenset()
        checker = ObjectPermissionChecker(self.user)
        if self.user.is_superuser:
            return frozenset(checker.get_perms(self.practice))
        # The user's own grants and their groups' in one query (guardian makes two).
        # Unordered: SQLite (the embedded default) refuses ORDER BY inside a UNION.
        own = checker.get_user_perms(self.practice).order_by()
        return frozenset(own.union(checker.get_group_perms(self.practice).order_by()))

    def role_for(self, codename: str) -> str:
        for role in Role.values:
            if role in self.roles and codename in ROLE_PERMISSIONS[role]:
                return role
        return ""


def practice_access(user: User, slug: str) -> PracticeAccess | None:
    """The user's active roles in the active practice named by slug, or None:
    a practice that does not exist and one the user has no role in look alike."""
    memberships = (
        Membership.objects.active()
        .filter(user=user, practice__slug=slug, practice__status=Practice.Status.ACTIVE)
        .select_related("practice")
    )
    roles = {membership.role: membership.practice for membership in memberships}
    if not roles:
        return None
    return PracticeAccess(practice=next(iter(roles.values())), roles=frozenset(roles), user=user)


def user_practices(user: User) -> list[PracticeAccess]:
    memberships = (
        Membership.objects.active()
        .filter(user=user, practice__status=Practice.Status.ACTIVE)
        .select_related("practice")
        .order_by("practice__name")
    )
    grouped: dict[int, tuple[Practice, set[str]]] = {}
    for membership in memberships:
        grouped.setdefault(membership.practice_id, (membership.practice, set()))[1].add(
            membership.role
        )
    return [PracticeAccess(practice, frozenset(roles)) for practice, roles in grouped.values()]


def provider_roles(user: User) -> frozenset[str]:
    roles = Membership.objects.active().filter(
        user=user, practice__isnull=True, role__in=sorted(PROVIDER_ROLES)
    )
    return frozenset(roles.values_list("role", flat=True))


def current_agreement() -> ConfidentialityAgreement | None:
    return ConfidentialityAgreement.objects.order_by("-version").first()


def agreement_missing(user: User) -> bool:
    """True when a charter exists and the user has not accepted its current
    version within AGREEMENT_VALIDITY_DAYS: one query on every request."""
    fresh = timezone.now() - timedelta(days=settings.AGREEMENT_VALIDITY_DAYS)
    accepted = user.acceptances.filter(agreement=OuterRef("pk"), accepted_at__gte=fresh)
    current = (
        ConfidentialityAgreement.objects.order_by("-version")
        .annotate(accepted=Exists(accepted))
        .values_list("accepted", flat=True)
        .first()
    )
    return current is False


def has_accepted(user: User, agreement: ConfidentialityAgreement) -> bool:
    """Accepted within AGREEMENT_VALIDITY_DAYS: the charter is re-accepted yearly."""
    fresh = timezone.now() - timedelta(days=settings.AGREEMENT_VALIDITY_DAYS)
    return user.acceptances.filter(agreement=agreement, accepted_at__gte=fresh).exists()


def pending_roles(user: User) -> list[Membership]:
    """The user's practice roles still waiting for the practice's confirmation."""
    return list(
        Membership.objects.granted()
        .pending()
        .filter(user=user)
        .select_related("practice")
        .order_by("practice__name", "role")
    )


def practice_team(practice: Practice) -> list[Membership]:
    """Everyone granted a role in the practice, pending ones first."""
    return list(
        Membership.objects.granted()
        .filter(practice=practice)
        .select_related("user", "granted_by")
        .order_by("-confirmed_at", "role", "user__last_name", "user__first_name")
    )
