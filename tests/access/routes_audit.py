from audit.models import AuditAlert, AuditChain, AuditEvent
from tests.access.routes import Route

COMPLIANCE = frozenset({"compliance_officer"})


def _latest_event(world) -> dict:
    return {"event_id": AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]}


def _open_alert(world) -> dict:
    chain = AuditChain.objects.get(key=f"practice:{world.practice_a.pk}")
    alert = AuditAlert.objects.create(
        kind=AuditAlert.Kind.CHAIN_BROKEN,
        chain=chain,
        seq=1,
        problem="hash",
        fingerprint=f"access-test-{chain.pk}-{AuditAlert.objects.count()}",
    )
    return {"alert_id": alert.pk}


def _patient_query(world) -> dict:
    return {"practice": world.practice_a.pk, "patient_id": 1}


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
    Route("audit:alert_list", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"),
    Route(
        "audit:alert_acknowledge",
        method="post",
        kwargs=_open_alert,
        data=lambda world: {f"a{AuditAlert.objects.latest('id').pk}-comment": "Vérifié"},
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
]
