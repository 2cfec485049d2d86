"""Agendas: the practitioner's day and week, the practice's day."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.permissions import has_practice_perm, practice_permission
from appointments import selectors
from appointments.models import (
    Appointment,
)
from appointments.views.common import (
    local_time,
    patient_label,
    person_name,
)
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from patients.decorators import sealed_data
from secretariat import inputs


@dataclass
class AgendaEntry:
    appointment: Appointment
    start: str
    end: str
    patient: str


def _day_param(request: HttpRequest) -> date:
    """The `date` asked for (a French 400 when it is not a date or out of
    range), today in the practice's time zone by default."""
    day = inputs.date_param(request.GET, "date", inputs.HISTORY)
    if day is not None:
        return day
    return timezone.now().astimezone(selectors.practice_zone(request.practice)).date()


def _entries(request: HttpRequest, appointments, show_patients: bool) -> list[AgendaEntry]:
    """Decrypt only what the agenda shows: the patient's name, and only for a
    role that may see identities (a practice manager sees busy slots)."""
    return [
        AgendaEntry(
            appointment=appointment,
            start=local_time(request, appointment.start).strftime("%H:%M"),
            end=local_time(request, appointment.end).strftime("%H:%M"),
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
        object_type=ObjectType.AGENDA,
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
        object_type=ObjectType.AGENDA,
        detail={"view": "own_week", "count": len(appointments)}
        | patients_shown(a.patient_id for a in appointments),
    )
    by_day: dict[date, list] = defaultdict(list)
    for entry in _entries(request, appointments, show_patients=True):
        by_day[local_time(request, entry.appointment.start).date()].append(entry)
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
        object_type=ObjectType.AGENDA,
        detail={"view": "practice_day", "count": len(appointments)}
        | (patients_shown(a.patient_id for a in appointments) if show_patients else {}),
    )
    by_practitioner: dict[int, list] = defaultdict(list)
    for entry in _entries(request, appointments, show_patients=show_patients):
        by_practitioner[entry.appointment.practitioner_id].append(entry)
    context = {
        "day": day,
        "day_label": date_format(day, "l j F Y"),
        "columns": [(person_name(p), by_practitioner.get(p.pk, [])) for p in people],
        "show_patients": show_patients,
        "can_open": has_practice_perm(request, "book_appointment"),
        "nav": _nav(day, 1),
    }
    return render(request, "appointments/practice_day.html", context)
