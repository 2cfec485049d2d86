from tests.access.routes import Route, practice_a
from tests.access.routes_accounts import EVERY_USER

COMPLIANCE = frozenset({"compliance_officer"})
MANAGERS = frozenset({"manager_a"})
PRACTITIONERS = frozenset({"practitioner_a"})


def _retention_post(world) -> dict:
    """Every kind at its default, appointments changed (a new kind is a new field)."""
    from compliance.retention import RULES

    return {**{kind: rule.default_days for kind, rule in RULES.items()}, "appointments": 700}


def _incident(world) -> dict:
    from django.utils import timezone

    from compliance.models import BreachIncident

    incident = BreachIncident.objects.create(
        detected_at=timezone.now(),
        nature="n",
        data_categories="d",
        people_categories="p",
        likely_consequences="c",
        measures_taken="m",
        created_by=world.users["compliance_officer"],
    )
    incident.practices.set([world.practice_a])
    return {"incident_id": incident.pk}


def _notice(world, practice) -> int:
    from accounts.scoping import practice_scope
    from compliance.models import PatientNotification
    from tests.patients.helpers import make_patient

    incident = _incident(world)["incident_id"]
    patient = make_patient(practice)
    # The contact point art. 34 requires: without it the notice is not sent.
    type(practice).objects.filter(pk=practice.pk).update(
        dpo_name="Contact données", dpo_email="donnees@example.org"
    )
    with practice_scope(practice):
        return PatientNotification.objects.create(
            practice=practice, incident_id=incident, patient=patient
        ).pk


def _notice_a(world) -> dict:
    return {**practice_a(world), "notification_id": _notice(world, world.practice_a)}


def _notice_foreign(world) -> dict:
    return {**practice_a(world), "notification_id": _notice(world, world.practice_b)}


def _review_membership(world) -> dict:
    from accounts.models import Membership
    from compliance.models import AccessReviewCampaign

    if not AccessReviewCampaign.objects.filter(closed_at__isnull=True).exists():
        AccessReviewCampaign.objects.create(started_by=world.users["compliance_officer"])
    membership = Membership.objects.get(user=world.users["telesecretary_a"])
    return {"membership_id": membership.pk, "decision": "confirm"}


def _incident_form(world) -> dict:
    from django.utils import timezone

    return {
        "detected_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "nature": "n",
        "data_categories": "d",
        "people_categories": "p",
        "likely_consequences": "c",
        "measures_taken": "m",
        "practices": [world.practice_a.pk],
    }


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
    Route("compliance:notice_list", allowed=EVERY_USER, practice_scoped=False, audit_action="list"),
    Route(
        "compliance:notice_read_all",
        method="post",
        allowed=EVERY_USER,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
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
        data=_retention_post,
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
        data=_retention_post,
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:incident_list", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"
    ),
    Route("compliance:incident_create", allowed=COMPLIANCE, practice_scoped=False),
    Route(
        "compliance:incident_create",
        method="post",
        data=_incident_form,
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "compliance:incident_detail",
        kwargs=_incident,
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="view",
    ),
    Route(
        "compliance:incident_detail",
        kwargs=_incident,
        method="post",
        data=_incident_form,
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:incident_authority_notified",
        kwargs=_incident,
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:incident_export",
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="export",
    ),
    Route(
        "compliance:practice_incidents",
        kwargs=practice_a,
        allowed=PRACTITIONERS,
        audit_action="list",
    ),
    Route(
        "compliance:incident_authority_notice",
        kwargs=_incident,
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="view",
    ),
    Route(
        "compliance:incident_authority_notice_export",
        kwargs=_incident,
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="export",
    ),
    Route(
        "compliance:practice_notification_preview",
        kwargs=_notice_a,
        allowed=PRACTITIONERS,
        audit_action="view",
        foreign=_notice_foreign,
    ),
    Route(
        "compliance:practice_notification_send",
        kwargs=_notice_a,
        method="post",
        allowed=PRACTITIONERS,
        ok_status=302,
        audit_action="update",
        foreign=_notice_foreign,
    ),
    Route(
        "compliance:access_review", allowed=COMPLIANCE, practice_scoped=False, audit_action="list"
    ),
    Route(
        "compliance:access_review_start",
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="create",
    ),
    Route(
        "compliance:access_review_decide",
        kwargs=_review_membership,
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:access_review_close",
        kwargs=lambda world: _review_membership(world) and {},
        method="post",
        allowed=COMPLIANCE,
        practice_scoped=False,
        ok_status=302,
        audit_action="update",
    ),
    Route(
        "compliance:register_index",
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="list",
    ),
    Route(
        "compliance:register",
        kwargs=lambda world: {"slug": world.practice_a.slug},
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="view",
    ),
    Route(
        "compliance:register_pdf",
        kwargs=lambda world: {"slug": world.practice_a.slug},
        allowed=COMPLIANCE,
        practice_scoped=False,
        audit_action="export",
    ),
]
