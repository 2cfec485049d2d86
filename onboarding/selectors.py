from django.db.models import Exists, OuterRef, Prefetch

from accounts.models import Membership, Practice, User
from accounts.scoping import practice_scope
from onboarding.models import Invitation, ProcessingContract
from patients.models import Patient
from patients.rotation import Handover, handover_status


def practice_handover(practice: Practice) -> Handover | None:
    """The hand-over of a closed practice (None while it is not closed); its
    audit events are the practice's rows, read within its scope."""
    if practice.status != Practice.Status.CLOSED:
        return None
    with practice_scope(practice):
        return handover_status(practice)


def practices_overview() -> list[Practice]:
    # has_contract: an active practice without its data processing agreement is flagged.
    contracts = ProcessingContract.objects.filter(practice=OuterRef("pk"))
    return list(
        Practice.objects.annotate(has_contract=Exists(contracts)).order_by("status", "name")
    )


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


def closure_summary(practice: Practice) -> dict[str, int]:
    """What closing the practice ends, in counts (no name): the people whose
    access stops and the patient files to hand over before the keys go."""
    with practice_scope(practice):
        patients = Patient.objects.filter(practice=practice).count()
    members = Membership.objects.active().filter(practice=practice).count()
    return {"members": members, "patients": patients}
