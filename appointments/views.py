"""Booking, moving and cancelling appointments; agendas. Thin views: the
permission is declared, objects are fetched within request.practice (another
practice's id is a 404), the audit event is written before rendering, and
every page carrying patient data answers `Cache-Control: no-store`."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import has_practice_perm, practice_permission
from accounts.roles import Role
from appointments import selectors, services
from appointments.forms import (
    AbsenceForm,
    AppointmentTypeForm,
    BookingForm,
    CallMessageForm,
    CancelForm,
    DayForm,
    ProposalFilterForm,
    SlotForm,
    SlotMinutesForm,
    StatusForm,
    WorkingHoursForm,
    slot_value,
)
from appointments.models import (
    Absence,
    Appointment,
    AppointmentType,
    PractitionerSettings,
    WaitingListEntry,
    WorkingHours,
)
from appointments.slots import Slot, find_free_slots
from audit.models import Action, Outcome
from audit.services import patients_shown, record_event
from patients import selectors as patient_selectors
from patients.decorators import sealed_data
from patients.forms import SearchForm
from patients.models import Patient

PROPOSALS = 12


def patient_label(patient: Patient) -> str:
    """What a page shows of a patient: two sealed fields, nothing more."""
    return f"{patient.read('last_name').upper()} {patient.read('first_names')}"


def _person(user) -> str:
    return user.get_full_name() or user.username


def _local(request: HttpRequest, moment: datetime) -> datetime:
    return moment.astimezone(selectors.practice_zone(request.practice))


def _when(request: HttpRequest, moment: datetime) -> str:
    return date_format(_local(request, moment), "l j F Y, H:i")


def _is_telesecretary(request: HttpRequest) -> bool:
    return request.actor.role == Role.TELESECRETARY


# Booking -----------------------------------------------------------------


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def book_view(request: HttpRequest, practice: str) -> HttpResponse:
    """Step 1: find the caller (searches are POSTed: no health data in URLs)."""
    form = SearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        found = patient_selectors.patient_search(request.practice, form.cleaned_data["q"])
        record_event(
            actor=request.actor,
            action=Action.SEARCH,
            object_type="patient",
            detail={"kind": found.kind, "results": len(found.patients), "for": "booking"}
            | patients_shown(patient.pk for patient in found.patients),
        )
        results = [patient_selectors.summary(patient) for patient in found.patients]
    else:
        record_event(actor=request.actor, action=Action.VIEW, object_type="booking")
    return render(request, "appointments/book.html", {"form": form, "results": results})


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def book_type_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    """Step 2: the type of appointment, with the practice's instructions."""
    patient = patient_selectors.patient_get(request.practice, patient)
    types = list(selectors.appointment_types(request.practice))
    telesecretary = _is_telesecretary(request)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="patient",
        object_id=patient.pk,
        detail={"for": "booking_type"},
    )
    context = {
        "patient": patient,
        "patient_label": patient_label(patient),
        "types": [(kind, not telesecretary or kind.bookable_by_telesecretary) for kind in types],
        "can_message": has_practice_perm(request, "leave_call_message"),
        "upcoming": [
            (appointment, _when(request, appointment.start))
            for appointment in selectors.patient_upcoming(request.practice, patient, timezone.now())
        ],
    }
    return render(request, "appointments/book_type.html", context)


@dataclass
class Proposal:
    value: str
    day: str
    hour: str
    practitioner: str


def _proposals(request: HttpRequest, found: list[Slot], names: dict[int, str]) -> list:
    days: dict[str, list[Proposal]] = defaultdict(list)
    for slot in found:
        local = _local(request, slot.start)
        day = date_format(local, "l j F Y")
        days[day].append(
            Proposal(
                value=slot_value(slot.practitioner_id, slot.start),
                day=day,
                hour=local.strftime("%H:%M"),
                practitioner=names.get(slot.practitioner_id, ""),
            )
        )
    return list(days.items())


def _find_proposals(
    request: HttpRequest, appointment_type: AppointmentType, exclude=None, practitioner=None
) -> tuple[ProposalFilterForm, list]:
    people = list(selectors.practitioners(request.practice))
    names = {user.pk: _person(user) for user in people}
    filters = ProposalFilterForm(request.GET or None, practitioners=people)
    start_from = timezone.now()
    if filters.is_valid():
        wanted = filters.cleaned_data["praticien"]
        if wanted is not None:
            practitioner = next((user for user in people if user.pk == wanted), None)
        if filters.cleaned_data["a_partir_du"]:
            day_start, _end = selectors.day_bounds(
                request.practice, filters.cleaned_data["a_partir_du"]
            )
            start_from = max(start_from, day_start)
    found = find_free_slots(
        practice=request.practice,
        appointment_type=appointment_type,
        practitioner=practitioner,
        start_from=start_from,
        count=PROPOSALS,
        exclude_appointment_id=exclude,
    )
    return filters, _proposals(request, found, names)


def _type_for_booking(request: HttpRequest, type_id: int) -> AppointmentType:
    appointment_type = selectors.appointment_types(request.practice).filter(pk=type_id).first()
    if appointment_type is None:
        raise Http404
    return appointment_type


def _not_bookable(request: HttpRequest, appointment_type: AppointmentType) -> HttpResponse:
    record_event(
        actor=request.actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type="appointment_type",
        object_id=appointment_type.pk,
        detail={"status": 403, "reason": "not_bookable_by_telesecretary"},
    )
    return render(
        request,
        "appointments/not_bookable.html",
        {"appointment_type": appointment_type},
        status=403,
    )


def _book(request, form, practitioner, patient, appointment_type) -> Appointment:
    """One appointment, or a whole series when a repetition was asked for
    (then the first occurrence is returned)."""
    _practitioner_id, start = form.cleaned_data["slot"]
    common = {
        "practice": request.practice,
        "practitioner": practitioner,
        "patient": patient,
        "appointment_type": appointment_type,
        "reason": form.cleaned_data["reason"],
        "actor": request.actor,
    }
    if not form.cleaned_data.get("repeat_weeks"):
        return services.appointment_book(start=start, **common)
    series = services.appointment_series_book(
        first_start=start,
        every_weeks=form.cleaned_data["repeat_weeks"],
        count=form.cleaned_data["repeat_count"],
        **common,
    )
    return series.appointments.filter(practice=request.practice).order_by("start").first()


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def book_slot_view(request: HttpRequest, practice: str, patient, appointment_type: int):
    """Step 3: proposed slots, then confirmation with the reason for visit."""
    patient = patient_selectors.patient_get(request.practice, patient)
    appointment_type = _type_for_booking(request, appointment_type)
    if _is_telesecretary(request) and not appointment_type.bookable_by_telesecretary:
        return _not_bookable(request, appointment_type)
    form = BookingForm(request.POST or None)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            practitioner_id, start = form.cleaned_data["slot"]
            practitioner = selectors.practitioner_in_practice(request.practice, practitioner_id)
            try:
                if practitioner is None:
                    raise services.BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))
                appointment = _book(request, form, practitioner, patient, appointment_type)
            except services.TypeNotBookable:
                return _not_bookable(request, appointment_type)
            except services.BookingError as refused:
                error = refused.message
                status = 409 if isinstance(refused, services.SlotTaken) else 400
            else:
                messages.success(
                    request,
                    _("Rendez-vous réservé le %(when)s.") % {"when": _when(request, start)},
                )
                return redirect("appointments:detail", request.practice.slug, appointment.pk)
        else:
            status = 400
    filters, proposals = _find_proposals(request, appointment_type)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="patient",
        object_id=patient.pk,
        detail={"for": "booking_slots", "proposals": sum(len(p) for _d, p in proposals)}
        | ({"refused": status} if status != 200 else {}),
    )
    context = {
        "patient": patient,
        "patient_label": patient_label(patient),
        "appointment_type": appointment_type,
        "form": form,
        "filters": filters,
        "proposals": proposals,
        "error": error,
    }
    return render(request, "appointments/book_slot.html", context, status=status)


# One appointment ---------------------------------------------------------


def _appointment(request: HttpRequest, appointment_id) -> Appointment:
    appointment = selectors.appointment_in_practice(request.practice, appointment_id)
    if appointment is None:
        raise Http404
    return appointment


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def detail_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = _appointment(request, appointment)
    events = list(appointment.events.filter(practice=request.practice).select_related("by"))
    record_event(
        actor=request.actor, action=Action.VIEW, object_type="appointment", object_id=appointment.pk
    )
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "reason": appointment.read("reason"),
        "when": _when(request, appointment.start),
        "end": _local(request, appointment.end).strftime("%H:%M"),
        "events": [(date_format(_local(request, e.at), "j F Y H:i"), e) for e in events],
        "status_form": StatusForm(),
        # Arrived / no-show / done only from the appointment's day on (as the service says).
        "transitions": sorted(services.STATUS_TRANSITIONS.get(appointment.status, ()))
        if _local(request, appointment.start).date() <= _local(request, timezone.now()).date()
        else [],
        "can_move": appointment.status == Appointment.Status.BOOKED,
    }
    return render(request, "appointments/detail.html", context)


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def move_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = _appointment(request, appointment)
    form = SlotForm(request.POST or None)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            practitioner_id, start = form.cleaned_data["slot"]
            practitioner = selectors.practitioner_in_practice(request.practice, practitioner_id)
            try:
                if practitioner is None:
                    raise services.BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))
                services.appointment_move(
                    appointment=appointment,
                    start=start,
                    practitioner=practitioner,
                    actor=request.actor,
                )
            except services.TypeNotBookable:
                return _not_bookable(request, appointment.appointment_type)
            except services.BookingError as refused:
                error = refused.message
                status = 409 if isinstance(refused, services.SlotTaken) else 400
            else:
                messages.success(
                    request,
                    _("Rendez-vous déplacé au %(when)s.") % {"when": _when(request, start)},
                )
                return redirect("appointments:detail", request.practice.slug, appointment.pk)
        else:
            status = 400
    filters, proposals = _find_proposals(
        request,
        appointment.appointment_type,
        exclude=appointment.pk,
        practitioner=None if request.GET.get("praticien") else appointment.practitioner,
    )
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="appointment",
        object_id=appointment.pk,
        detail={"for": "move"} | ({"refused": status} if status != 200 else {}),
    )
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "when": _when(request, appointment.start),
        "form": form,
        "filters": filters,
        "proposals": proposals,
        "error": error,
    }
    return render(request, "appointments/move.html", context, status=status)


@practice_permission("book_appointment")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def cancel_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = _appointment(request, appointment)
    form = CancelForm(request.POST or None)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            cancel = (
                services.appointment_series_cancel
                if form.cleaned_data["whole_series"]
                else services.appointment_cancel
            )
            try:
                cancel(
                    appointment=appointment,
                    category=form.cleaned_data["category"],
                    actor=request.actor,
                )
            except services.BookingError as refused:
                error, status = refused.message, 400
            else:
                messages.success(request, _("Rendez-vous annulé."))
                waiting = len(
                    selectors.waiting_list(request.practice, appointment.appointment_type_id)
                )
                if waiting:
                    messages.info(
                        request,
                        _(
                            "%(count)s patient(s) attendent un créneau de ce type : "
                            "voir la liste d'attente."
                        )
                        % {"count": waiting},
                    )
                return redirect("appointments:detail", request.practice.slug, appointment.pk)
        else:
            status = 400
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="appointment",
        object_id=appointment.pk,
        detail={"for": "cancel"} | ({"refused": status} if status != 200 else {}),
    )
    context = {
        "appointment": appointment,
        "patient_label": patient_label(appointment.patient),
        "when": _when(request, appointment.start),
        "form": form,
        "error": error,
    }
    return render(request, "appointments/cancel.html", context, status=status)


@practice_permission("book_appointment")
@never_cache
@require_POST
def status_view(request: HttpRequest, practice: str, appointment) -> HttpResponse:
    appointment = _appointment(request, appointment)
    form = StatusForm(request.POST)
    try:
        if not form.is_valid():
            raise services.BookingError(_("Statut inconnu."))
        services.appointment_set_status(
            appointment=appointment, status=form.cleaned_data["status"], actor=request.actor
        )
    except services.BookingError as refused:
        record_event(
            actor=request.actor,
            action=Action.UPDATE,
            outcome=Outcome.DENIED,
            object_type="appointment",
            object_id=appointment.pk,
            detail={"change": "status", "status": 400},
        )
        messages.error(request, refused.message)
        response = redirect("appointments:detail", request.practice.slug, appointment.pk)
        response.status_code = 303
        return response
    messages.success(request, _("Statut mis à jour."))
    return redirect("appointments:detail", request.practice.slug, appointment.pk)


# Agendas ------------------------------------------------------------------


@dataclass
class AgendaEntry:
    appointment: Appointment
    start: str
    end: str
    patient: str


def _day_param(request: HttpRequest) -> date:
    form = DayForm(request.GET)
    if form.is_valid() and form.cleaned_data["date"]:
        return form.cleaned_data["date"]
    return timezone.now().astimezone(selectors.practice_zone(request.practice)).date()


def _entries(request: HttpRequest, appointments, show_patients: bool) -> list[AgendaEntry]:
    """Decrypt only what the agenda shows: the patient's name, and only for a
    role that may see identities (a practice manager sees busy slots)."""
    return [
        AgendaEntry(
            appointment=appointment,
            start=_local(request, appointment.start).strftime("%H:%M"),
            end=_local(request, appointment.end).strftime("%H:%M"),
            patient=patient_label(appointment.patient) if show_patients else "",
        )
        for appointment in appointments
    ]


def _nav(day: date, step: int) -> dict:
    return {
        "previous": (day - timedelta(days=step)).isoformat(),
        "next": (day + timedelta(days=step)).isoformat(),
    }


@practice_permission("view_own_agenda")
@never_cache
@require_GET
@sealed_data
def my_day_view(request: HttpRequest, practice: str) -> HttpResponse:
    day = _day_param(request)
    start, end = selectors.day_bounds(request.practice, day)
    appointments = list(
        selectors.agenda(request.practice, start=start, end=end, practitioner_ids=[request.user.pk])
    )
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="agenda",
        detail={"view": "own_day", "count": len(appointments)}
        | patients_shown(a.patient_id for a in appointments),
    )
    context = {
        "day": day,
        "day_label": date_format(day, "l j F Y"),
        "entries": _entries(request, appointments, show_patients=True),
        "nav": _nav(day, 1),
        "can_book": has_practice_perm(request, "book_appointment"),
    }
    return render(request, "appointments/my_day.html", context)


@practice_permission("view_own_agenda")
@never_cache
@require_GET
@sealed_data
def my_week_view(request: HttpRequest, practice: str) -> HttpResponse:
    day = _day_param(request)
    monday = day - timedelta(days=day.weekday())
    start, end = selectors.day_bounds(request.practice, monday, days=7)
    appointments = list(
        selectors.agenda(request.practice, start=start, end=end, practitioner_ids=[request.user.pk])
    )
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="agenda",
        detail={"view": "own_week", "count": len(appointments)}
        | patients_shown(a.patient_id for a in appointments),
    )
    by_day: dict[date, list] = defaultdict(list)
    for entry in _entries(request, appointments, show_patients=True):
        by_day[_local(request, entry.appointment.start).date()].append(entry)
    days = [monday + timedelta(days=offset) for offset in range(7)]
    context = {
        "monday": monday,
        "week_label": date_format(monday, "j F Y"),
        "columns": [(date_format(d, "l j/m"), d.isoformat(), by_day.get(d, [])) for d in days],
        "nav": _nav(monday, 7),
    }
    return render(request, "appointments/my_week.html", context)


@practice_permission("view_practice_agenda")
@never_cache
@require_GET
@sealed_data
def practice_day_view(request: HttpRequest, practice: str) -> HttpResponse:
    day = _day_param(request)
    start, end = selectors.day_bounds(request.practice, day)
    people = list(selectors.practitioners(request.practice))
    appointments = list(
        selectors.agenda(
            request.practice, start=start, end=end, practitioner_ids=[p.pk for p in people]
        )
    )
    show_patients = has_practice_perm(request, "view_patient_identity")
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="agenda",
        detail={"view": "practice_day", "count": len(appointments)}
        | (patients_shown(a.patient_id for a in appointments) if show_patients else {}),
    )
    by_practitioner: dict[int, list] = defaultdict(list)
    for entry in _entries(request, appointments, show_patients=show_patients):
        by_practitioner[entry.appointment.practitioner_id].append(entry)
    context = {
        "day": day,
        "day_label": date_format(day, "l j F Y"),
        "columns": [(_person(p), by_practitioner.get(p.pk, [])) for p in people],
        "show_patients": show_patients,
        "can_open": has_practice_perm(request, "book_appointment"),
        "nav": _nav(day, 1),
    }
    return render(request, "appointments/practice_day.html", context)


# Call messages --------------------------------------------------------------


@practice_permission("leave_call_message")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def message_new_view(request: HttpRequest, practice: str) -> HttpResponse:
    people = list(selectors.practitioners(request.practice))
    initial = {}
    patient = None
    wanted = request.POST.get("patient") or request.GET.get("patient")
    if wanted:
        try:
            patient = patient_selectors.patient_get(request.practice, wanted)
        except (ValueError, ValidationError):
            raise Http404 from None
        initial["patient"] = patient.pk
    form = CallMessageForm(request.POST or None, initial=initial, practitioners=people)
    status = 200
    error = ""
    if request.method == "POST":
        if form.is_valid():
            practitioner = selectors.practitioner_in_practice(
                request.practice, form.cleaned_data["practitioner"]
            )
            try:
                if practitioner is None:
                    raise services.BookingError(_("Ce praticien n'exerce pas dans ce cabinet."))
                services.call_message_leave(
                    practice=request.practice,
                    practitioner=practitioner,
                    text=form.cleaned_data["text"],
                    urgent=form.cleaned_data["urgent"],
                    patient=patient,
                    actor=request.actor,
                )
            except services.BookingError as refused:
                error, status = refused.message, 400
            else:
                messages.success(request, _("Message transmis au praticien."))
                return redirect("accounts:practice_home", request.practice.slug)
        else:
            status = 400
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="call_message_form",
        object_id=patient.pk if patient else "",
        detail={"refused": status} if status != 200 else {},
    )
    context = {
        "form": form,
        "patient_label": patient_label(patient) if patient else "",
        "error": error,
    }
    return render(request, "appointments/message_new.html", context, status=status)


@practice_permission("read_call_messages")
@never_cache
@require_GET
@sealed_data
def inbox_view(request: HttpRequest, practice: str) -> HttpResponse:
    found = selectors.inbox(request.practice, request.user)
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="call_message",
        detail={"count": len(found), "unhandled": sum(m.handled_at is None for m in found)}
        | patients_shown(m.patient_id for m in found if m.patient_id),
    )
    entries = [
        {
            "message": message,
            "text": message.read("text"),
            "patient": patient_label(message.patient) if message.patient_id else "",
            "at": date_format(_local(request, message.created_at), "j F Y H:i"),
        }
        for message in found
    ]
    return render(request, "appointments/inbox.html", {"entries": entries})


@practice_permission("read_call_messages")
@never_cache
@require_POST
def message_handle_view(request: HttpRequest, practice: str, message) -> HttpResponse:
    found = selectors.message_for(request.practice, request.user, message)
    if found is None:
        raise Http404
    services.call_message_handle(message=found, actor=request.actor)
    messages.success(request, _("Message marqué comme traité."))
    return redirect("appointments:inbox", request.practice.slug)


# Waiting list -------------------------------------------------------------------


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def waiting_list_view(request: HttpRequest, practice: str) -> HttpResponse:
    type_id = request.GET.get("type")
    type_id = int(type_id) if type_id and type_id.isdigit() else None
    entries = selectors.waiting_list(request.practice, type_id)
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="waiting_list_entry",
        detail={"count": len(entries), "appointment_type": type_id}
        | patients_shown(entry.patient_id for entry in entries),
    )
    rows = [
        {
            "entry": entry,
            "patient": patient_label(entry.patient),
            "since": date_format(_local(request, entry.created_at), "j F Y"),
        }
        for entry in entries
    ]
    return render(request, "appointments/waiting_list.html", {"rows": rows})


@practice_permission("book_appointment")
@never_cache
@require_POST
def waiting_add_view(request: HttpRequest, practice: str, patient, appointment_type: int):
    patient = patient_selectors.patient_get(request.practice, patient)
    appointment_type = _type_for_booking(request, appointment_type)
    if _is_telesecretary(request) and not appointment_type.bookable_by_telesecretary:
        return _not_bookable(request, appointment_type)
    services.waiting_list_add(
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
    found = WaitingListEntry.objects.filter(practice=request.practice, pk=entry).first()
    if found is None:
        raise Http404
    services.waiting_list_resolve(entry=found, actor=request.actor)
    messages.success(request, _("Inscription retirée de la liste d'attente."))
    return redirect("appointments:waiting_list", request.practice.slug)


# Practice settings: types, working hours, slot granularity, absences -----------


@practice_permission("manage_practice_settings")
@never_cache
@require_GET
def settings_view(request: HttpRequest, practice: str) -> HttpResponse:
    types = list(AppointmentType.objects.filter(practice=request.practice).order_by("name"))
    people = list(selectors.practitioners(request.practice))
    hours = defaultdict(list)
    for row in WorkingHours.objects.filter(
        practice=request.practice, practitioner_id__in=[p.pk for p in people]
    ).order_by("weekday", "start_time"):
        hours[row.practitioner_id].append(row)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="practice_settings",
        object_id=request.practice.pk,
    )
    context = {
        "types": types,
        "people": [(person, _person(person), hours.get(person.pk, [])) for person in people],
    }
    return render(request, "appointments/settings.html", context)


def _type_form(request: HttpRequest, instance: AppointmentType) -> HttpResponse:
    form = AppointmentTypeForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        services.appointment_type_save(
            appointment_type=form.save(commit=False), actor=request.actor
        )
        messages.success(request, _("Type de rendez-vous enregistré."))
        return redirect("appointments:settings", request.practice.slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="appointment_type",
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
    instance = AppointmentType.objects.filter(
        practice=request.practice, pk=appointment_type
    ).first()
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
    """One practitioner's week, slot granularity and absences; each form posts
    its own `action`."""
    practitioner = _practitioner_or_404(request, practitioner)
    zone = selectors.practice_zone(request.practice)
    action = request.POST.get("action") if request.method == "POST" else None
    current = PractitionerSettings.objects.filter(
        practice=request.practice, practitioner=practitioner
    ).first()
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
            services.working_hours_add(**common, **hours_form.cleaned_data)
            messages.success(request, _("Plage horaire ajoutée."))
            return redirect(request.path)
        if action == "slot" and slot_form.is_valid():
            services.slot_minutes_set(**common, minutes=slot_form.cleaned_data["slot_minutes"])
            messages.success(request, _("Granularité enregistrée."))
            return redirect(request.path)
        if action == "absence" and absence_form.is_valid():
            data = absence_form.cleaned_data
            _absence, clashes = services.absence_add(
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
    except services.BookingError as refused:
        error = refused.message
    hours = list(WorkingHours.objects.filter(practice=request.practice, practitioner=practitioner))
    absences = list(
        Absence.objects.filter(
            practice=request.practice, practitioner=practitioner, end__gte=timezone.now()
        ).order_by("start")[:50]
    )
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type="practitioner_schedule",
        object_id=practitioner.pk,
    )
    context = {
        "practitioner": practitioner,
        "name": _person(practitioner),
        "hours": hours,
        "absences": [
            (
                a,
                date_format(_local(request, a.start), "j F Y H:i"),
                date_format(_local(request, a.end), "j F Y H:i"),
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


@practice_permission("manage_practice_settings")
@never_cache
@require_POST
def hours_delete_view(request: HttpRequest, practice: str, hours: int) -> HttpResponse:
    found = WorkingHours.objects.filter(practice=request.practice, pk=hours).first()
    if found is None:
        raise Http404
    practitioner_id = found.practitioner_id
    services.working_hours_delete(hours=found, actor=request.actor)
    messages.success(request, _("Plage horaire supprimée."))
    return redirect("appointments:schedule", request.practice.slug, practitioner_id)


@practice_permission("manage_practice_settings")
@never_cache
@require_POST
def absence_delete_view(request: HttpRequest, practice: str, absence: int) -> HttpResponse:
    found = Absence.objects.filter(practice=request.practice, pk=absence).first()
    if found is None:
        raise Http404
    practitioner_id = found.practitioner_id
    services.absence_delete(absence=found, actor=request.actor)
    messages.success(request, _("Absence supprimée."))
    return redirect("appointments:schedule", request.practice.slug, practitioner_id)
