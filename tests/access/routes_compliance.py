from tests.access.routes import Route, practice_a

COMPLIANCE = frozenset({"compliance_officer"})
MANAGERS = frozenset({"manager_a"})


def _open_alert(world) -> dict:
    from compliance.models import Alert

    alert = Alert.objects.create(
        kind=Alert.Kind.BACKUP_MISSING,
        fingerprint=f"access-test-{Alert.objects.count()}",
        detail={"latest": None},
    )
    return {"alert_id": alert.pk}


def _latest_alert_comment(world) -> dict:
    from compliance.models import Alert

    return {f"a{Alert.objects.latest('id').pk}-comment": "Vérifié"}


ROUTES = [
    Route("compliance:alert_list", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"),
    Route(
        "compliance:alert_acknowledge",
        method="post",
        kwargs=_open_alert,
        data=_latest_alert_comment,
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:practice_retention",
        kwargs=practice_a,
        allowed=MANAGERS,
        audit_action="view",
    ),
    Route(
        "compliance:practice_retention",
        kwargs=practice_a,
        method="post",
        data=lambda world: {
            "appointments": 700,
            "call_messages": 90,
            "reminders": 90,
            "audit_events": 365,
        },
        allowed=MANAGERS,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:retention_index",
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="list",
    ),
    Route(
        "compliance:retention",
        kwargs=lambda world: {"slug": world.practice_a.slug},
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="view",
    ),
    Route(
        "compliance:retention",
        kwargs=lambda world: {"slug": world.practice_a.slug},
        method="post",
        data=lambda world: {
            "appointments": 700,
            "call_messages": 90,
            "reminders": 90,
            "audit_events": 365,
        },
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
]
