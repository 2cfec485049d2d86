from django.utils import timezone

from accounts.models import Membership
from accounts.roles import Role
from accounts.services import membership_grant
from audit.context import Actor
from onboarding.models import Invitation
from tests.access.routes import Route
from tests.factories import PracticeFactory, UserFactory, grant
from tests.personas import World

ADMIN = frozenset({"platform_admin"})


def _slug(world: World) -> dict:
    return {"slug": world.practice_a.slug}


def _suspended(world: World) -> dict:
    """A suspended practice: the only kind that can be closed."""
    practice = PracticeFactory(name="Cabinet suspendu", slug="cabinet-suspendu", status="suspended")
    return {"slug": practice.slug}


def _membership(world: World, practice) -> int:
    return Membership.objects.filter(practice=practice).values_list("pk", flat=True).first()


def _invitation(world: World) -> dict:
    invitation = Invitation.objects.create(
        email="invitee@example.org",
        first_name="In",
        last_name="Vitee",
        role="practitioner",
        practice=world.practice_a,
        token_digest="0" * 64,
        expires_at=timezone.now() + timezone.timedelta(hours=1),
    )
    return {"invitation_id": invitation.pk}


def _pending_first_manager(world: World, practice=None) -> dict:
    """A manager invited by another platform admin into a practice that has no
    manager yet: the persona platform admin may confirm it (four eyes)."""
    practice = practice or PracticeFactory(name="Cabinet neuf", slug="cabinet-neuf")
    inviter = grant(UserFactory(username=f"admin-{practice.slug}"), Role.PLATFORM_ADMIN)
    membership = membership_grant(
        user=UserFactory(username=f"manager-{practice.slug}"),
        role=Role.PRACTICE_MANAGER,
        practice=practice,
        actor=Actor(user=inviter),
    )
    return {"slug": practice.slug, "membership_id": membership.pk}


ROUTES = [
    Route("platform:dashboard", allowed=ADMIN, practice_scoped=False, audit_action="list"),
    Route("platform:practice_new", allowed=ADMIN, practice_scoped=False),
    Route(
        "platform:practice_new",
        method="post",
        data=lambda world: {"name": "Cabinet C", "slug": "cabinet-c", "timezone": "Europe/Paris"},
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "platform:practice", kwargs=_slug, allowed=ADMIN, practice_scoped=False, audit_action="view"
    ),
    Route(
        "platform:practice_identity",
        kwargs=_slug,
        method="post",
        data=lambda world: {"name": "Cabinet A", "address": "1 rue A", "timezone": "Europe/Paris"},
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "platform:contract_upload",
        kwargs=_slug,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=400,
    ),
    Route(
        "platform:data_key_create",
        kwargs=_slug,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="key_operation",
    ),
    Route(
        "platform:agenda_starter",
        kwargs=_slug,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "platform:practice_invite",
        kwargs=_slug,
        method="post",
        data=lambda world: {
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea.roy@example.org",
            "role": "practitioner",
        },
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "platform:provider_invite",
        method="post",
        data=lambda world: {
            "first_name": "Paul",
            "last_name": "Lenoir",
            "email": "paul.lenoir@example.org",
            "role": "compliance_officer",
        },
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "platform:assignment_add",
        kwargs=_slug,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=400,
    ),
    Route(
        "platform:assignment_remove",
        kwargs=lambda world: {
            "slug": world.practice_a.slug,
            "membership_id": _membership(world, world.practice_a),
        },
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="role_change",
        foreign=lambda world: {
            "slug": world.practice_a.slug,
            "membership_id": _membership(world, world.practice_b),
        },
    ),
    Route(
        "platform:membership_confirm",
        kwargs=_pending_first_manager,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="role_change",
        # Another practice's pending membership under this practice's URL.
        foreign=lambda world: {
            "slug": "cabinet-neuf",
            "membership_id": _pending_first_manager(
                world, PracticeFactory(name="Autre", slug="cabinet-autre")
            )["membership_id"],
        },
    ),
    Route(
        "platform:practice_status",
        kwargs=_slug,
        method="post",
        data=lambda world: {"status": "suspended"},
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "platform:practice_close",
        kwargs=_suspended,
        allowed=ADMIN,
        practice_scoped=False,
        audit_action="view",
    ),
    Route(
        "platform:practice_close",
        kwargs=_suspended,
        method="post",
        data=lambda world: {"confirm": "on"},
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "platform:invitation_revoke",
        kwargs=_invitation,
        method="post",
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "platform:device_reset",
        kwargs=lambda world: {"user_id": world.users["telesecretary_a"].pk},
        allowed=ADMIN,
        practice_scoped=False,
    ),
    Route(
        "platform:device_reset",
        kwargs=lambda world: {"user_id": world.users["telesecretary_a"].pk},
        method="post",
        data=lambda world: {"method": "in_person", "reference": "Ticket 42", "confirm": "on"},
        allowed=ADMIN,
        practice_scoped=False,
        ok_status=302,
        audit_action="key_operation",
    ),
]
