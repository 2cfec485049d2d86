from accounts.scoping import practice_scope
from calendarfeed import services
from tests.access.routes import Route, practice_a
from tests.factories import as_actor

OWN_AGENDA = frozenset({"practitioner_a"})


def _with_feed(world) -> dict:
    """practitioner_a's live subscription address exists."""
    if "feed" not in world.objects:
        dr = world.users["practitioner_a"]
        with practice_scope(world.practice_a):
            world.objects["feed"] = services.feed_create(
                practice=world.practice_a,
                practitioner=dr,
                show_initials=False,
                actor=as_actor(dr, "practitioner", world.practice_a),
            )
    return practice_a(world)


ROUTES = [
    Route("calendarfeed:subscription", kwargs=practice_a, allowed=OWN_AGENDA, audit_action="view"),
    Route(
        "calendarfeed:create",
        kwargs=practice_a,
        method="post",
        data=lambda world: {"show_initials": "on"},
        allowed=OWN_AGENDA,
        audit_action="create",
    ),
    Route(
        "calendarfeed:initials",
        kwargs=_with_feed,
        method="post",
        data=lambda world: {"show_initials": "on"},
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "calendarfeed:revoke",
        kwargs=_with_feed,
        method="post",
        allowed=OWN_AGENDA,
        ok_status=302,
        audit_action="update",
    ),
]
