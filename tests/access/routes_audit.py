from audit.models import AuditEvent
from tests.access.routes import Route

COMPLIANCE = frozenset({"compliance_officer"})


def _latest_event(world) -> dict:
    return {"event_id": AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]}


def _patient_query(world) -> dict:
    return {"practice": world.practice_a.pk, "patient_id": "6f1c8e52-3b1d-4c51-9d0e-2f5a7b9c1d3e"}


ROUTES = [
    Route("audit:event_list", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"),
    Route(
        "audit:event_list",
        method="post",
        data=lambda world: {"practice": world.practice_a.pk, "action": "create"},
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="list",
    ),
    Route(
        "audit:event_detail",
        kwargs=_latest_event,
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="view",
    ),
    Route("audit:patient_access", allowed=COMPLIANCE, practice_scoped=False),
    Route(
        "audit:patient_access",
        method="post",
        data=_patient_query,
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="list",
    ),
    Route(
        "audit:export",
        method="post",
        data=lambda world: {"practice": world.practice_a.pk},
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="export",
    ),
]
