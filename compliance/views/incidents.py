"""Breach incidents (the register, art. 33 notice) and the notices to patients (art. 34)."""

from collections import Counter

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_scopes import scopes_disabled

from accounts.permissions import practice_permission, provider_permission
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from compliance import incidents
from compliance.forms import IncidentForm
from compliance.models import (
    BreachIncident,
    PatientNotification,
)
from compliance.views.common import no_store
from patients.models import Patient
from secretariat.spreadsheet import CSVWriter


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
    return no_store(render(request, "compliance/incident_list.html", {"rows": rows}))


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
        return no_store(
            render(request, "compliance/incident_form.html", {"form": form}, status=400)
        )
    return no_store(render(request, "compliance/incident_form.html", {"form": form}))


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
    return no_store(render(request, "compliance/incident_detail.html", context, status=status))


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
    return no_store(render(request, "compliance/incident_authority_notice.html", context))


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
    return no_store(response)


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
    return no_store(response)


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
    return no_store(render(request, "compliance/practice_incidents.html", {"rows": rows}))


def _practice_notification(request: HttpRequest, notification_id: int) -> PatientNotification:
    return get_object_or_404(
        PatientNotification.objects.select_related("incident"),
        pk=notification_id,
        practice=request.practice,
    )


def _render_preview(request, notification, *, status: int = 200, error: str = "") -> HttpResponse:
    text, missing = incidents.patient_notification_preview(notification=notification)
    context = {"notice": notification, "text": text, "missing": missing, "error": error}
    return no_store(
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
