from tests.access.routes import Route

COMPLIANCE = frozenset({"compliance_officer"})


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
]
