from django.utils import timezone

from tests.access.routes import Route
from tests.access.routes_accounts import EVERY_USER

COMPLIANCE = frozenset({"compliance_officer"})


def _session_data(world) -> dict:
    return {
        "date": timezone.localdate().isoformat(),
        "topic": "Sensibilisation RGPD",
        "attendees": [world.users["telesecretary_a"].pk],
    }


ROUTES = [
    Route("continuity:training_required", allowed=EVERY_USER, practice_scoped=False),
    Route("continuity:training", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"),
    Route(
        "continuity:training_record",
        method="post",
        data=_session_data,
        allowed=COMPLIANCE,
        ok_status=302,
        practice_scoped=False,
        audit_action="create",
    ),
    Route("continuity:continuity", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"),
]
