"""The waiting list."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import practice_permission
from appointments import rules, selectors
from appointments.services.waiting import waiting_list_add, waiting_list_resolve
from appointments.views.common import (
    local_time,
    not_bookable,
    patient_label,
    type_for_booking,
)
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from patients import selectors as patient_selectors
from patients.decorators import sealed_data
from secretariat import inputs


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def waiting_list_view(request: HttpRequest, practice: str) -> HttpResponse:
    type_id = inputs.id_param(request.GET, "type")
    entries = selectors.waiting_list(request.practice, type_id)
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type=ObjectType.WAITING_LIST_ENTRY,
        detail={"count": len(entries), "appointment_type": type_id}
        | patients_shown(entry.patient_id for entry in entries),
    )
    rows = [
        {
            "entry": entry,
            "patient": patient_label(entry.patient),
            "since": date_format(local_time(request, entry.created_at), "j F Y"),
        }
        for entry in entries
    ]
    return render(request, "appointments/waiting_list.html", {"rows": rows})


@practice_permission("book_appointment")
@never_cache
@require_POST
def waiting_add_view(request: HttpRequest, practice: str, patient, appointment_type: int):
    patient = patient_selectors.patient_get(request.practice, patient)
    appointment_type = type_for_booking(request, appointment_type)
    if not rules.may_book_type(request.actor, appointment_type):
        return not_bookable(request, appointment_type)
    waiting_list_add(
        practice=request.practice,
        patient=patient,
        appointment_type=appointment_type,
        actor=request.actor,
    )
    messages.success(request, _("Patient inscrit sur la liste d'attente."))
    return redirect("appointments:waiting_list", request.practice.slug)


@practice_permission("book_appointment")
@never_cache
@require_POST
def waiting_resolve_view(request: HttpRequest, practice: str, entry: int) -> HttpResponse:
    found = selectors.waiting_entry_in_practice(request.practice, entry)
    if found is None:
        raise Http404
    waiting_list_resolve(entry=found, actor=request.actor)
    messages.success(request, _("Inscription retirée de la liste d'attente."))
    return redirect("appointments:waiting_list", request.practice.slug)
