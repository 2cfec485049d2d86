"""Compliance officer pages (provider) and practice pages of the compliance app."""

from collections import Counter

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from accounts.models import Membership, Practice
from accounts.permissions import any_authenticated, practice_permission, provider_permission
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from compliance import hygiene, incidents, notices, register, retention, selectors, services
from compliance.forms import AcknowledgeForm, IncidentForm, RetentionForm
from compliance.models import (
    AccessReviewDecision,
    Alert,
    BreachIncident,
    PatientNotification,
)
from compliance.register_pdf import register_pdf
from patients.models import Patient
from secretariat.spreadsheet import CSVWriter

NOTICE_PAGE = 100


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _render_alerts(request: HttpRequest, *, failed: tuple[int, AcknowledgeForm] | None = None):
    alerts = selectors.alerts_for_review()
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="compliance_alert",
        detail={"count": len(alerts)},
    )
    forms = {alert.pk: AcknowledgeForm(prefix=f"a{alert.pk}") for alert in alerts}
    if failed:
        forms[failed[0]] = failed[1]
    rows = [(alert, forms[alert.pk]) for alert in alerts]
    status = 400 if failed else 200
    return _no_store(render(request, "compliance/alert_list.html", {"rows": rows}, status=status))


@provider_permission("manage_compliance")
@require_GET
def alert_list_view(request: HttpRequest) -> HttpResponse:
    return _render_alerts(request)


@provider_permission("manage_compliance")
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    form = AcknowledgeForm(request.POST, prefix=f"a{alert.pk}")
    if not form.is_valid() or not form.cleaned_data["comment"].strip():
        if form.is_valid():
            form.add_error(
                "comment", _("Un commentaire est obligatoire pour acquitter une alerte.")
            )
        return _render_alerts(request, failed=(alert.pk, form))
    if alert.acknowledged_at is not None:
        messages.info(request, _("Cette alerte était déjà acquittée."))
        return redirect("compliance:alert_list")
    services.alert_acknowledge(
        alert=alert, actor=request.actor, comment=form.cleaned_data["comment"]
    )
    messages.success(request, _("Alerte acquittée."))
    return redirect("compliance:alert_list")


# ---------------------------------------------------------------- notices


@any_authenticated
@require_GET
def notice_list_view(request: HttpRequest) -> HttpResponse:
    """The user's own notices, newest first (unread ones are marked as such)."""
    rows = list(notices.visible_notices(request.user).order_by("-id")[:NOTICE_PAGE])
    record_event(
        actor=request.actor,
        action=Action.LIST,
        practice=None,
        object_type=ObjectType.NOTICE,
        detail={"count": len(rows)},
    )
    context = {"rows": [(notice, notices.text_of(notice)) for notice in rows]}
    return _no_store(render(request, "compliance/notice_list.html", context))


@any_authenticated
@require_POST
def notice_open_view(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Mark one notice read and go where it points (or back to the inbox)."""
    notice = get_object_or_404(notices.visible_notices(request.user), pk=notice_id)
    if notice.read_at is None:
        notices.notices_mark_read(user=request.user, ids=[notice.pk])
        record_event(
            actor=request.actor,
            action=Action.UPDATE,
            practice=None,
            object_type=ObjectType.NOTICE,
            object_id=notice.pk,
            detail={"read": 1},
        )
    return redirect(notices.text_of(notice).url or "compliance:notice_list")


@any_authenticated
@require_POST
def notice_read_all_view(request: HttpRequest) -> HttpResponse:
    count = notices.notices_mark_read(user=request.user)
    record_event(
        actor=request.actor,
        action=Action.UPDATE,
        practice=None,
        object_type=ObjectType.NOTICE,
        detail={"read": count},
    )
    return redirect("compliance:notice_list")


# ---------------------------------------------------------------- retention


def _retention_page(request: HttpRequest, practice: Practice, *, done_url: str):
    current = retention.policies_for(practice)
    form = RetentionForm(request.POST or None, current=current)
    if request.method == "POST":
        if form.is_valid():
            for kind in retention.RULES:
                if form.cleaned_data[kind] == current[kind]:
                    continue  # a default stays a default (and nothing to audit)
                services.retention_policy_set(
                    practice=practice, kind=kind, days=form.cleaned_data[kind], actor=request.actor
                )
            messages.success(request, _("Durées de conservation enregistrées."))
            # A shorter period is announced now, with the dry run's counts.
            if retention.purge_announce(practice=practice):
                messages.info(
                    request,
                    _(
                        "Une durée raccourcie ne s'applique qu'après un préavis de %(days)d "
                        "jours : la purge prévue est annoncée aux responsables du cabinet et "
                        "aux délégués à la conformité."
                    )
                    % {"days": retention.NOTICE_DAYS},
                )
            return redirect(done_url)
        status = 400
    else:
        status = 200
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            practice=practice,
            object_type="retention_policy",
            object_id=practice.pk,
        )
    next_run, lines = retention.purge_status(practice)
    context = {
        "practice_obj": practice,
        "form": form,
        "rows": [(form[line.kind], line) for line in lines],
        "next_run": next_run,
        "notice_days": retention.NOTICE_DAYS,
    }
    return render(request, "compliance/retention.html", context, status=status)


@practice_permission("manage_practice_settings")
@require_http_methods(["GET", "POST"])
def practice_retention_view(request: HttpRequest, practice: str) -> HttpResponse:
    url = reverse("compliance:practice_retention", args=[request.practice.slug])
    return _retention_page(request, request.practice, done_url=url)


@provider_permission("manage_compliance")
@require_GET
def retention_index_view(request: HttpRequest) -> HttpResponse:
    practices = list(Practice.objects.order_by("name"))
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="retention_policy",
        detail={"count": len(practices)},
    )
    return render(request, "compliance/retention_index.html", {"practices": practices})


@provider_permission("manage_compliance")
@require_http_methods(["GET", "POST"])
def retention_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    url = reverse("compliance:retention", args=[practice.slug])
    return _retention_page(request, practice, done_url=url)


# ---------------------------------------------------------------- breach incidents


def remaining_label(incident: BreachIncident, now) -> str:
    """The 72-hour countdown, rendered by the server (no script)."""
    if incident.authority_notified_at is not None:
        return _("Autorité notifiée")
    seconds = int((incident.deadline - now).total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    if seconds >= 0:
        return _("Reste %(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("Échéance dépassée de %(h)d h %(m)02d min") % {"h": hours, "m": minutes}


@provider_permission("manage_compliance")
@require_GET
def incident_list_view(request: HttpRequest) -> HttpResponse:
    incidents = list(BreachIncident.objects.prefetch_related("practices").order_by("-detected_at"))
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="breach_incident",
        detail={"count": len(incidents)},
    )
    now = timezone.now()
    rows = [(incident, remaining_label(incident, now)) for incident in incidents]
    return _no_store(render(request, "compliance/incident_list.html", {"rows": rows}))


@provider_permission("manage_compliance")
@require_http_methods(["GET", "POST"])
def incident_create_view(request: HttpRequest) -> HttpResponse:
    form = IncidentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            incident = incidents.incident_declare(
                actor=request.actor,
                practices=list(data["practices"]),
                patient_ids=data["patient_ids_text"],
                **{name: data[name] for name in incidents.INCIDENT_FIELDS},
            )
            messages.success(
                request, _("Incident enregistré ; les cabinets concernés sont prévenus.")
            )
            return redirect("compliance:incident_detail", incident.pk)
        return _no_store(
            render(request, "compliance/incident_form.html", {"form": form}, status=400)
        )
    return _no_store(render(request, "compliance/incident_form.html", {"form": form}))


@provider_permission("manage_compliance")
@require_http_methods(["GET", "POST"])
def incident_detail_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(BreachIncident, pk=incident_id)
    form = IncidentForm(request.POST or None, instance=incident)
    form.fields.pop("patient_ids_text")
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            incidents.incident_update(
                incident=incident,
                actor=request.actor,
                practices=list(data["practices"]),
                **{name: data[name] for name in incidents.INCIDENT_FIELDS},
            )
            messages.success(request, _("Incident mis à jour."))
            return redirect("compliance:incident_detail", incident.pk)
        status = 400
        incident.refresh_from_db()
    else:
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            object_type="breach_incident",
            object_id=incident.pk,
        )
    with scopes_disabled():
        notices = Counter(
            PatientNotification.objects.filter(incident=incident).values_list("status", flat=True)
        )
    context = {
        "incident": incident,
        "form": form,
        "remaining": remaining_label(incident, timezone.now()),
        "notices": {
            PatientNotification.Status(status).label: count for status, count in notices.items()
        },
    }
    return _no_store(render(request, "compliance/incident_detail.html", context, status=status))


@provider_permission("manage_compliance")
@require_POST
def incident_authority_notified_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(BreachIncident, pk=incident_id)
    incidents.incident_mark_authority_notified(incident=incident, actor=request.actor)
    messages.success(request, _("Notification à l'autorité enregistrée."))
    return redirect("compliance:incident_detail", incident.pk)


# French headers, like the audit CSV; values as the register page shows them.
INCIDENT_EXPORT_COLUMNS = [
    "numero",
    "decouverte_le",
    "echeance_autorite",
    "autorite_notifiee_le",
    "statut",
    "nature",
    "categories_donnees",
    "categories_personnes",
    "nombre_personnes",
    "nombre_enregistrements",
    "consequences_probables",
    "mesures_prises",
    "recommandations_personnes",
    "cabinets",
    "informations_patients",
]


@provider_permission("manage_compliance")
@require_GET
def incident_authority_notice_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The art. 33 notification, pre-filled from the register."""
    incident = get_object_or_404(BreachIncident, pk=incident_id)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.BREACH_INCIDENT,
        object_id=incident.pk,
        detail={"authority_notice": True},
    )
    context = {"incident": incident, "text": incidents.authority_notice_text(incident=incident)}
    return _no_store(render(request, "compliance/incident_authority_notice.html", context))


@provider_permission("manage_compliance")
@require_POST
def incident_authority_notice_export_view(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(BreachIncident, pk=incident_id)
    record_event(
        actor=request.actor,
        action=Action.EXPORT,
        object_type=ObjectType.BREACH_INCIDENT,
        object_id=incident.pk,
        detail={"authority_notice": True},
    )
    response = HttpResponse(
        incidents.authority_notice_text(incident=incident), content_type="text/plain; charset=utf-8"
    )
    name = f"notification-autorite-incident-{incident.pk}.txt"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return _no_store(response)


@provider_permission("manage_compliance")
@require_POST
def incident_export_view(request: HttpRequest) -> HttpResponse:
    rows = list(BreachIncident.objects.prefetch_related("practices").order_by("detected_at"))
    record_event(
        actor=request.actor,
        action=Action.EXPORT,
        object_type="breach_incident",
        detail={"count": len(rows)},
    )
    with scopes_disabled():
        counts = Counter(PatientNotification.objects.values_list("incident_id", flat=True))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="registre-violations.csv"'
    writer = CSVWriter(response)
    writer.writerow(INCIDENT_EXPORT_COLUMNS)
    for incident in rows:
        writer.writerow(
            (
                incident.pk,
                incident.detected_at.isoformat(),
                incident.deadline.isoformat(),
                incident.authority_notified_at.isoformat()
                if incident.authority_notified_at
                else "",
                incident.get_status_display(),
                incident.nature,
                incident.data_categories,
                incident.people_categories,
                incident.approx_people,
                incident.approx_records,
                incident.likely_consequences,
                incident.measures_taken,
                incident.patient_advice,
                ", ".join(p.name for p in incident.practices.all()),
                counts.get(incident.pk, 0),
            )
        )
    return _no_store(response)


@practice_permission("export_patient_data")
@require_GET
def practice_incident_list_view(request: HttpRequest, practice: str) -> HttpResponse:
    notices = list(
        PatientNotification.objects.filter(practice=request.practice)
        .select_related("incident")
        .order_by("-incident__detected_at", "pk")
    )
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="patient_breach_notification",
        detail={"count": len(notices)} | patients_shown(n.patient_id for n in notices),
    )

    patients = Patient.objects.in_bulk([n.patient_id for n in notices])
    rows = [
        (
            notice,
            f"{patients[notice.patient_id].read('last_name').upper()} "
            f"{patients[notice.patient_id].read('first_names')}",
        )
        for notice in notices
    ]
    return _no_store(render(request, "compliance/practice_incidents.html", {"rows": rows}))


def _practice_notification(request: HttpRequest, notification_id: int) -> PatientNotification:
    return get_object_or_404(
        PatientNotification.objects.select_related("incident"),
        pk=notification_id,
        practice=request.practice,
    )


def _render_preview(request, notification, *, status: int = 200, error: str = "") -> HttpResponse:
    text, missing = incidents.patient_notification_preview(notification=notification)
    context = {"notice": notification, "text": text, "missing": missing, "error": error}
    return _no_store(
        render(request, "compliance/practice_notification.html", context, status=status)
    )


@practice_permission("export_patient_data")
@require_GET
def practice_notification_preview_view(
    request: HttpRequest, practice: str, notification_id: int
) -> HttpResponse:
    """The notice exactly as the patient will read it, before approval."""
    notification = _practice_notification(request, notification_id)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.PATIENT_BREACH_NOTIFICATION,
        object_id=notification.pk,
        detail=patients_shown([notification.patient_id]),
    )
    return _render_preview(request, notification)


@practice_permission("export_patient_data")
@require_POST
def practice_notification_send_view(
    request: HttpRequest, practice: str, notification_id: int
) -> HttpResponse:
    notification = _practice_notification(request, notification_id)
    if notification.status == PatientNotification.Status.SENT:
        messages.info(request, _("Cette notification a déjà été envoyée."))
        return redirect("compliance:practice_incidents", request.practice.slug)
    try:
        incidents.patient_notification_send(notification=notification, actor=request.actor)
    except incidents.BreachNoticeError as error:
        return _render_preview(request, notification, status=409, error=str(error))
    messages.success(request, _("Notification envoyée au patient."))
    return redirect("compliance:practice_incidents", request.practice.slug)


# ---------------------------------------------------------------- access review


@provider_permission("manage_compliance")
@require_GET
def access_review_view(request: HttpRequest) -> HttpResponse:
    campaign = hygiene.open_campaign()
    memberships = list(
        Membership.objects.active()
        .select_related("user", "practice")
        .order_by("practice__name", "role", "user__username")
    )
    decisions = {}
    if campaign is not None:
        decisions = {d.membership_id: d for d in campaign.decisions.select_related("decided_by")}
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="access_review",
        object_id=campaign.pk if campaign else "",
        detail={"count": len(memberships)},
    )
    rows = [(m, decisions.get(m.pk)) for m in memberships]
    context = {"campaign": campaign, "rows": rows}
    return _no_store(render(request, "compliance/access_review.html", context))


@provider_permission("manage_compliance")
@require_POST
def access_review_start_view(request: HttpRequest) -> HttpResponse:
    hygiene.campaign_start(actor=request.actor)
    return redirect("compliance:access_review")


@provider_permission("manage_compliance")
@require_POST
def access_review_close_view(request: HttpRequest) -> HttpResponse:
    campaign = hygiene.open_campaign()
    if campaign is not None:
        hygiene.campaign_close(campaign=campaign, actor=request.actor)
        messages.success(request, _("Revue des accès close."))
    return redirect("compliance:access_review")


@provider_permission("manage_compliance")
@require_POST
def access_review_decide_view(request: HttpRequest, membership_id: int, decision: str):
    if decision not in AccessReviewDecision.Decision.values:
        raise Http404
    membership = get_object_or_404(Membership.objects.active(), pk=membership_id)
    campaign = hygiene.open_campaign()
    if campaign is None:
        messages.error(request, _("Démarrez d'abord une revue des accès."))
        return redirect("compliance:access_review")
    if membership.user_id == request.user.pk and decision == "revoke":
        messages.error(request, _("Vous ne pouvez pas révoquer votre propre rôle."))
        return redirect("compliance:access_review")
    try:
        hygiene.membership_review(
            campaign=campaign, membership=membership, decision=decision, actor=request.actor
        )
    except hygiene.AlreadyDecided:
        messages.info(request, _("Ce rôle a déjà été revu dans cette campagne."))
    else:
        messages.success(request, _("Décision enregistrée."))
    return redirect("compliance:access_review")


@provider_permission("manage_compliance")
@require_GET
def register_index_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="processing_register")
    practices = Practice.objects.order_by("name")
    return render(request, "compliance/register_index.html", {"practices": practices})


@provider_permission("manage_compliance")
@require_GET
def register_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=practice,
        object_type="processing_register",
        object_id=practice.pk,
    )
    context = register.processing_register(practice)
    return render(request, "compliance/register.html", context)


@provider_permission("manage_compliance")
@require_GET
def register_pdf_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    record_event(
        actor=request.actor,
        action=Action.EXPORT,
        practice=practice,
        object_type="processing_register",
        object_id=practice.pk,
        detail={"format": "pdf"},
    )
    response = HttpResponse(register_pdf(practice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="registre-{practice.slug}.pdf"'
    return response
