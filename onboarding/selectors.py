from django.db.models import Prefetch

from accounts.models import Membership, Practice, User
from onboarding.models import Invitation


def practices_overview() -> list[Practice]:
    return list(Practice.objects.order_by("status", "name"))


def users_overview() -> list[User]:
    memberships = Membership.objects.select_related("practice").order_by("role")
    return list(
        User.objects.order_by("last_name", "first_name").prefetch_related(
            Prefetch("memberships", queryset=memberships)
        )
    )


def pending_invitations(practice: Practice | None = None) -> list[Invitation]:
    invitations = Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("practice")
    if practice is not None:
        invitations = invitations.filter(practice=practice)
    return [invitation for invitation in invitations if invitation.is_pending]


def practice_memberships(practice: Practice) -> list[Membership]:
    return list(
        Membership.objects.filter(practice=practice)
        .select_related("user")
        .order_by("role", "user__last_name")
    )
