from accounts.roles import Role
from accounts.services import membership_grant
from audit.context import Actor
from tests.access.routes import Route, practice_a
from tests.factories import UserFactory
from tests.personas import World

MANAGER = frozenset({"manager_a"})


def _pending(world: World, practice) -> int:
    """A telesecretary the platform admin assigned, not yet confirmed."""
    membership = membership_grant(
        user=UserFactory(),
        role=Role.TELESECRETARY,
        practice=practice,
        actor=Actor(user=world.users["platform_admin"]),
    )
    return membership.pk


def _team_member(world: World) -> dict:
    return {"practice": world.practice_a.slug, "membership_id": _pending(world, world.practice_a)}


def _other_team_member(world: World) -> dict:
    return {"practice": world.practice_a.slug, "membership_id": _pending(world, world.practice_b)}


EVERY_USER = frozenset(
    {
        "telesecretary_a",
        "telesecretary_ab",
        "practitioner_a",
        "practitioner_b",
        "manager_a",
        "compliance_officer",
        "platform_admin",
        "no_role",
    }
)

ROUTES = [
    Route("accounts:home", allowed=EVERY_USER, practice_scoped=False),
    Route("accounts:agreement", allowed=EVERY_USER, practice_scoped=False),
    Route(
        "accounts:agreement",
        method="post",
        data=lambda world: {"accept": "on"},
        allowed=EVERY_USER,
        practice_scoped=False,  # already accepted: the page says so
    ),
    Route("accounts:sessions", allowed=EVERY_USER, practice_scoped=False),
    Route("accounts:password_change", allowed=EVERY_USER, practice_scoped=False),
    Route(
        "accounts:password_change",
        method="post",
        data=lambda world: {
            "old_password": "pas-le-bon-mot-de-passe",
            "new_password1": "une nouvelle phrase de passe",
            "new_password2": "une nouvelle phrase de passe",
        },
        allowed=EVERY_USER,
        practice_scoped=False,  # wrong current password: the form again
    ),
    Route(
        "accounts:practice_home",
        kwargs=practice_a,
        allowed=frozenset({"telesecretary_a", "telesecretary_ab", "practitioner_a", "manager_a"}),
        audit_action="view",
    ),
    Route("accounts:team", kwargs=practice_a, allowed=MANAGER, audit_action="list"),
    *(
        Route(
            name,
            kwargs=_team_member,
            method="post",
            allowed=MANAGER,
            ok_status=302,
            audit_action="role_change",
            foreign=_other_team_member,
        )
        for name in ("accounts:team_confirm", "accounts:team_refuse")
    ),
]
