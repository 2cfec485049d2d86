"""Booking in three steps (find the caller, the type, the slot), one
appointment's page, moving, cancelling, its status. Thin views: the permission
is declared, objects are fetched within request.practice (another practice's id
is a 404), the audit event is written before rendering, and every page carrying
patient data answers `Cache-Control: no-store`."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import has_practice_perm, practice_permission
from appointments import rules, selectors
from appointments.forms import (
    BookingForm,
    CancelForm,
    SlotForm,
    StatusForm,
)
from appointments.models import Appointment, AppointmentEvent
from appointments.services.base import BookingError, check_practitioner
from appointments.services.booking import (
    STATUS_TRANSITIONS,
    appointment_book,
    appointment_cancel,
    appointment_move,
    appointment_set_status,
)
from appointments.services.series import appointment_series_book, appointment_series_cancel
from appointments.views.common import (
    Attempt,
    appointment_or_404,
    attempt,
    find_proposals,
    local_time,
    not_bookable,
    patient_label,
    refused_detail,
    slot_practitioner,
    type_for_booking,
    when,
)
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from patients import selectors as patient_selectors
from patients.decorators import sealed_data
from patients.forms import SearchForm


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def book_view(request: HttpRequest, practice: str) -> HttpResponse:
    """Step 1: find the caller (searches are POSTed: no health data in URLs)."""
    form = SearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        found = patient_selectors.access_patient_search(
            actor=request.actor,
            practice=request.practice,
            query=form.cleaned_data["q"],
            purpose="booking",
        )
        results = [patient_selectors.summary(patient) for patient in found.patients]
    else:
        record_event(actor=request.actor, action=Action.VIEW, object_type=ObjectType.BOOKING)
    return render(request, "appointments/book.html", {"form": form, "results": results})


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def book_type_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    """Step 2: the type of appointment, with the practice's instructions."""
    patient = patient_selectors.access_patient(
        actor=request.actor,
        practice=request.practice,
        patient_id=patient,
        detail={"for": "booking_type"},
    )
    types = list(selectors.appointment_types(request.practice))
    context = {
        "patient": patient,
        "patient_label": patient_label(patient),
        "types": [(kind, rules.may_book_type(request.actor, kind)) for kind in types],
        "can_message": has_practice_perm(request, "leave_call_message"),
        "upcoming": [
            (appointment, when(request, appointment.start))
            for appointment in selectors.patient_upcoming(request.practice, patient, timezone.now())
        ],
    }
    return render(request, "appointments/book_type.html", context)


def _book(request, form, patient, appointment_type) -> Appointment:
    """One appointment, or a whole series when a repetition was asked for
    (then the first occurrence is returned)."""
    practitioner, start = slot_practitioner(request, form)
    common = {
        "practice": request.practice,
        "practitioner": practitioner,
        "patient": patient,
        "appointment_type": appointment_type,
        "reason": form.cleaned_data["reason"],
        "actor": request.actor,
    }
    if not form.cleaned_data.get("repeat_weeks"):
        return appointment_book(start=start, **common)
    series = appointment_series_book(
        first_start=start,
        every_weeks=form.cleaned_data["repeat_weeks"],
        count=form.cleaned_data["repeat_count"],
        **common,
    )
    return selectors.series_first(series)


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def book_slot_view(request: HttpRequest, practice: str, patient, appointment_type: int):
    """Step 3: proposed slots, then confirmation with the reason for visit."""
    patient = patient_selectors.patient_get(request.practice, patient)
    appointment_type = type_for_booking(request, appointment_type)
    if not rules.may_book_type(request.actor, appointment_type):
        return not_bookable(request, appointment_type)
    form = BookingForm(request.POST or None)
    outcome = Attempt()
    if request.method == "POST":
        outcome = attempt(form, lambda: _book(request, form, patient, appointment_type))
        if outcome.result is not None:
            messages.success(
                request,
                _("Rendez-vous réservé le %(when)s.")
                % {"when": when(request, outcome.result.start)},
            )
            return redirect("appointments:detail", request.practice.slug, outcome.result.pk)
    filters, proposals = find_proposals(request, appointment_type)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.PATIENT,
        object_id=patient.pk,
        detail={"for": "booking_slots", "proposals": sum(len(p) for _d, p in proposals)}
        | refused_detail(outcome.status),
    )
    context = {
        "patient": patient,
        "patient_label": patient_label(patient),
        "appointment_type": appointment_type,
        "form": form,
        "filters": filters,
        "proposals": proposals,
        "error": outcome.error,
    }
    return render(request, "appointments/book_slot.html", context, status=outcome.status)


def _status_after(event: AppointmentEvent) -> str:
    """The new status of a status change, in words (never the stored code)."""
    if event.kind != AppointmentEvent.Kind.STATUS:
        return ""
    after = event.detail.get("after", "")
    return Appointment.Status(after).label if after in Appointment.Status.values else after


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def detail_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = selectors.access_appointment(
        actor=request.actor, practice=request.practice, appointment_id=appointment
    )
    events = selectors.appointment_history(appointment)
    open_now = rules.status_change_open(appointment, timezone.now())
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "reason": appointment.read("reason"),
        "when": when(request, appointment.start),
        "end": local_time(request, appointment.end).strftime("%H:%M"),
        "events": [
            (date_format(local_time(request, e.at), "j F Y H:i"), e, _status_after(e))
            for e in events
        ],
        "status_form": StatusForm(),
        "transitions": sorted(STATUS_TRANSITIONS.get(appointment.status, ())) if open_now else [],
        "can_move": appointment.status == Appointment.Status.BOOKED,
    }
    return render(request, "appointments/detail.html", context)


def _move(request: HttpRequest, form: SlotForm, appointment: Appointment) -> Appointment:
    practitioner, start = slot_practitioner(request, form)
    # The service reads "no practitioner" as "keep the current one": a forged
    # id must be refused here instead.
    check_practitioner(request.practice, practitioner)
    return appointment_move(
        appointment=appointment, start=start, practitioner=practitioner, actor=request.actor
    )


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def move_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = appointment_or_404(request, appointment)
    form = SlotForm(request.POST or None)
    outcome = Attempt()
    if request.method == "POST":
        outcome = attempt(form, lambda: _move(request, form, appointment))
        if outcome.result is not None:
            messages.success(
                request,
                _("Rendez-vous déplacé au %(when)s.")
                % {"when": when(request, outcome.result.start)},
            )
            return redirect("appointments:detail", request.practice.slug, appointment.pk)
    filters, proposals = find_proposals(
        request,
        appointment.appointment_type,
        exclude=appointment.pk,
        practitioner=None if request.GET.get("praticien") else appointment.practitioner,
    )
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.APPOINTMENT,
        object_id=appointment.pk,
        detail={"for": "move"} | refused_detail(outcome.status),
    )
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "when": when(request, appointment.start),
        "form": form,
        "filters": filters,
        "proposals": proposals,
        "error": outcome.error,
    }
    return render(request, "appointments/move.html", context, status=outcome.status)


def _cancel(request: HttpRequest, form: CancelForm, appointment: Appointment) -> Appointment:
    cancel = appointment_series_cancel if form.cleaned_data["whole_series"] else appointment_cancel
    cancel(appointment=appointment, category=form.cleaned_data["category"], actor=request.actor)
    return appointment


def _waiting_hint(request: HttpRequest, appointment: Appointment) -> None:
    """The slot just freed may suit someone waiting: say so, with a link to the
    waiting list of that type for a role that may open it."""
    if not has_practice_perm(request, "book_appointment"):
        return
    type_id = appointment.appointment_type_id
    waiting = len(selectors.waiting_list(request.practice, type_id))
    if waiting:
        url = reverse("appointments:waiting_list", args=[request.practice.slug])
        messages.info(
            request,
            format_html(
                '{} <a href="{}?type={}">{}</a>',
                _("%(count)s patient(s) attendent un créneau de ce type :") % {"count": waiting},
                url,
                type_id,
                _("voir la liste d'attente"),
            ),
        )


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def cancel_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = appointment_or_404(request, appointment)
    form = CancelForm(request.POST or None)
    outcome = Attempt()
    if request.method == "POST":
        outcome = attempt(form, lambda: _cancel(request, form, appointment))
        if outcome.result is not None:
            messages.success(request, _("Rendez-vous annulé."))
            _waiting_hint(request, appointment)
            return redirect("appointments:detail", request.practice.slug, appointment.pk)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.APPOINTMENT,
        object_id=appointment.pk,
        detail={"for": "cancel"} | refused_detail(outcome.status),
    )
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "when": when(request, appointment.start),
        "form": form,
        "error": outcome.error,
    }
    return render(request, "appointments/cancel.html", context, status=outcome.status)


@practice_permission("book_appointment")
@never_cache
@require_POST
def status_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = appointment_or_404(request, appointment)
    form = StatusForm(request.POST)
    try:
        if not form.is_valid():
            raise BookingError(_("Statut inconnu."))
        appointment_set_status(
            appointment=appointment, status=form.cleaned_data["status"], actor=request.actor
        )
    except BookingError as refused:
        record_event(
            actor=request.actor,
            action=Action.UPDATE,
            outcome=Outcome.DENIED,
            object_type=ObjectType.APPOINTMENT,
            object_id=appointment.pk,
            detail={"change": "status", "status": 400},
        )
        messages.error(request, refused.message)
        response = redirect("appointments:detail", request.practice.slug, appointment.pk)
        response.status_code = 303
        return response
    messages.success(request, _("Statut mis à jour."))
    return redirect("appointments:detail", request.practice.slug, appointment.pk)
