"""The practice's settings: appointment types, working hours, slot
granularity, absences."""

from collections import defaultdict
from datetime import datetime

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import practice_permission
from appointments import selectors
from appointments.forms import (
    AbsenceForm,
    AppointmentTypeForm,
    SlotMinutesForm,
    WorkingHoursForm,
)
from appointments.models import (
    AppointmentType,
)
from appointments.services.base import BookingError
from appointments.services.schedule import (
    absence_add,
    absence_delete,
    appointment_type_save,
    slot_minutes_set,
    working_hours_add,
    working_hours_delete,
)
from appointments.views.common import (
    local_time,
    person_name,
)
from audit.models import Action, ObjectType
from audit.services import record_event


@practice_permission("manage_practice_settings")
@never_cache
@require_GET
def settings_view(request: HttpRequest, practice: str) -> HttpResponse:
    types = list(selectors.all_appointment_types(request.practice))
    people = list(selectors.practitioners(request.practice))
    hours = defaultdict(list)
    for row in selectors.working_hours(request.practice, [p.pk for p in people]):
        hours[row.practitioner_id].append(row)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.PRACTICE_SETTINGS,
        object_id=request.practice.pk,
    )
    context = {
        "types": types,
        "people": [(person, person_name(person), hours.get(person.pk, [])) for person in people],
    }
    return render(request, "appointments/settings.html", context)


def _type_form(request: HttpRequest, instance: AppointmentType) -> HttpResponse:
    form = AppointmentTypeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        appointment_type_save(appointment_type=form.save(commit=False), actor=request.actor)
        messages.success(request, _("Type de rendez-vous enregistré."))
        return redirect("appointments:settings", request.practice.slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.APPOINTMENT_TYPE,
        object_id=instance.pk or "",
    )
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/type_form.html", {"form": form}, status=status)


@practice_permission("manage_practice_settings")
@never_cache
@require_http_methods(["GET", "POST"])
def type_new_view(request: HttpRequest, practice: str) -> HttpResponse:
    return _type_form(request, AppointmentType(practice=request.practice))


@practice_permission("manage_practice_settings")
@never_cache
@require_http_methods(["GET", "POST"])
def type_edit_view(request: HttpRequest, practice: str, appointment_type: int) -> HttpResponse:
    instance = selectors.appointment_type_in_practice(request.practice, appointment_type)
    if instance is None:
        raise Http404
    return _type_form(request, instance)


def _practitioner_or_404(request: HttpRequest, practitioner_id: int):
    practitioner = selectors.practitioner_in_practice(request.practice, practitioner_id)
    if practitioner is None:
        raise Http404
    return practitioner


@practice_permission("manage_practice_settings")
@never_cache
@require_http_methods(["GET", "POST"])
def schedule_view(request: HttpRequest, practice: str, practitioner: int) -> HttpResponse:
    """One practitioner's week, slot granularity and absences, for the manager."""
    return _schedule_page(request, _practitioner_or_404(request, practitioner), own=False)


@practice_permission("manage_own_schedule")
@never_cache
@require_http_methods(["GET", "POST"])
def my_schedule_view(request: HttpRequest, practice: str) -> HttpResponse:
    """The practitioner's own hours and absences: the same page, about
    themselves only. The slot grid stays the manager's (it shapes what the
    telesecretaries propose to every caller)."""
    return _schedule_page(request, _practitioner_or_404(request, request.user.pk), own=True)


def _schedule_page(request: HttpRequest, practitioner, *, own: bool) -> HttpResponse:
    """Each form posts its own `action`."""
    zone = selectors.practice_zone(request.practice)
    action = request.POST.get("action") if request.method == "POST" else None
    if own and action == "slot":
        action = None
    current = selectors.practitioner_settings(request.practice, practitioner)
    hours_form = WorkingHoursForm(request.POST if action == "hours" else None)
    slot_form = SlotMinutesForm(
        request.POST if action == "slot" else None,
        initial={"slot_minutes": current.slot_minutes if current else 15},
    )
    absence_form = AbsenceForm(request.POST if action == "absence" else None)
    common = {
        "practice": request.practice,
        "practitioner": practitioner,
        "actor": request.actor,
    }
    error = ""
    try:
        if action == "hours" and hours_form.is_valid():
            working_hours_add(**common, **hours_form.cleaned_data)
            messages.success(request, _("Plage horaire ajoutée."))
            return redirect(request.path)
        if action == "slot" and slot_form.is_valid():
            slot_minutes_set(**common, minutes=slot_form.cleaned_data["slot_minutes"])
            messages.success(request, _("Granularité enregistrée."))
            return redirect(request.path)
        if action == "absence" and absence_form.is_valid():
            data = absence_form.cleaned_data
            _absence, clashes = absence_add(
                **common,
                start=datetime.combine(data["start_date"], data["start_time"], tzinfo=zone),
                end=datetime.combine(data["end_date"], data["end_time"], tzinfo=zone),
                reason=data["reason"],
            )
            messages.success(request, _("Absence enregistrée."))
            if clashes:
                messages.warning(
                    request,
                    _("%(count)s rendez-vous sont prévus pendant cette absence : à déplacer.")
                    % {"count": clashes},
                )
            return redirect(request.path)
    except BookingError as refused:
        error = refused.message
    hours = list(selectors.working_hours(request.practice, [practitioner.pk]))
    absences = selectors.upcoming_absences(request.practice, practitioner, timezone.now())
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.PRACTITIONER_SCHEDULE,
        object_id=practitioner.pk,
    )
    context = {
        "practitioner": practitioner,
        "name": person_name(practitioner),
        "own": own,
        "slot_minutes": current.slot_minutes if current else 15,
        "hours": hours,
        "absences": [
            (
                a,
                date_format(local_time(request, a.start), "j F Y H:i"),
                date_format(local_time(request, a.end), "j F Y H:i"),
            )
            for a in absences
        ],
        "hours_form": hours_form,
        "slot_form": slot_form,
        "absence_form": absence_form,
        "error": error,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "appointments/schedule.html", context, status=status)


def _back_to_schedule(request: HttpRequest, practitioner_id: int, *, own: bool) -> HttpResponse:
    if own:
        return redirect("appointments:my_schedule", request.practice.slug)
    return redirect("appointments:schedule", request.practice.slug, practitioner_id)


def _hours_delete(request: HttpRequest, hours: int, *, own: bool) -> HttpResponse:
    found = selectors.working_hours_in_practice(
        request.practice, hours, practitioner=request.user if own else None
    )
    if found is None:
        raise Http404
    practitioner_id = found.practitioner_id
    working_hours_delete(hours=found, actor=request.actor)
    messages.success(request, _("Plage horaire supprimée."))
    return _back_to_schedule(request, practitioner_id, own=own)


def _absence_delete(request: HttpRequest, absence: int, *, own: bool) -> HttpResponse:
    found = selectors.absence_in_practice(
        request.practice, absence, practitioner=request.user if own else None
    )
    if found is None:
        raise Http404
    practitioner_id = found.practitioner_id
    absence_delete(absence=found, actor=request.actor)
    messages.success(request, _("Absence supprimée."))
    return _back_to_schedule(request, practitioner_id, own=own)


@practice_permission("manage_practice_settings")
@never_cache
@require_POST
def hours_delete_view(request: HttpRequest, practice: str, hours: int) -> HttpResponse:
    return _hours_delete(request, hours, own=False)


@practice_permission("manage_own_schedule")
@never_cache
@require_POST
def my_hours_delete_view(request: HttpRequest, practice: str, hours: int) -> HttpResponse:
    """Only the practitioner's own row: a colleague's is a 404, like a row of
    another practice."""
    return _hours_delete(request, hours, own=True)


@practice_permission("manage_practice_settings")
@never_cache
@require_POST
def absence_delete_view(request: HttpRequest, practice: str, absence: int) -> HttpResponse:
    return _absence_delete(request, absence, own=False)


@practice_permission("manage_own_schedule")
@never_cache
@require_POST
def my_absence_delete_view(request: HttpRequest, practice: str, absence: int) -> HttpResponse:
    return _absence_delete(request, absence, own=True)
