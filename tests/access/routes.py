"""The URL x method table of the role access test.

Each app lists its routes in a module here (routes_<app>.py) and adds it to
ALL_ROUTES: one route per (URL, method) its view accepts, every method read from
the view itself (methods.py), a missing pair failing the suite. A route names
who may use it; everybody else is refused: anonymous
users are sent to the login page, users with no role in the practice get 404
(like a practice that does not exist), users with a role there but not the
permission get 403. `foreign` builds kwargs naming another practice's object
under practice A's URL, which must answer 404 even to an allowed persona.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from tests.personas import World


@dataclass(frozen=True)
class Route:
    name: str
    kwargs: Callable[[World], dict] = lambda world: {}
    method: str = "get"
    data: Callable[[World], dict] = lambda world: {}
    allowed: frozenset[str] = frozenset()
    ok_status: int = 200
    # Personas whose membership covers the practice but who lack the permission.
    practice_scoped: bool = True
    audit_action: str | None = None
    foreign: Callable[[World], dict] | None = None
    public: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)


def practice_a(world: World) -> dict:
    return {"practice": world.practice_a.slug}
