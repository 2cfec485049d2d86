"""What the appointment pages share: how a patient and a time are shown, the
proposed slots, the objects fetched within the practice."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from appointments import selectors
from appointments.forms import (
    ProposalFilterForm,
    slot_value,
)
from appointments.models import (
    Appointment,
    AppointmentType,
)
from appointments.services.base import BookingError, SlotTaken, TypeNotBookable
from appointments.slots import Slot, find_free_slots
from audit.models import Action, ObjectType, Outcome
from audit.services import record_event
from patients.models import Patient
from secretariat import inputs

PROPOSALS = 12


def patient_label(patient: Patient) -> str:
    """What a page shows of a patient: two sealed fields, nothing more."""
    return f"{patient.read('last_name').upper()} {patient.read('first_names')}"


def person_name(user) -> str:
    return user.get_full_name() or user.username


def local_time(request: HttpRequest, moment: datetime) -> datetime:
    return moment.astimezone(selectors.practice_zone(request.practice))


def when(request: HttpRequest, moment: datetime) -> str:
    return date_format(local_time(request, moment), "l j F Y, H:i")


@dataclass
class Proposal:
    value: str
    day: str
    hour: str
    practitioner: str


def proposals_by_day(request: HttpRequest, found: list[Slot], names: dict[int, str]) -> list:
    days: dict[str, list[Proposal]] = defaultdict(list)
    for slot in found:
        local = local_time(request, slot.start)
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


def find_proposals(
    request: HttpRequest, appointment_type: AppointmentType, exclude=None, practitioner=None
) -> tuple[ProposalFilterForm, list]:
    people = list(selectors.practitioners(request.practice))
    names = {user.pk: person_name(user) for user in people}
    filters = ProposalFilterForm(request.GET or None, practitioners=people)
    start_from = timezone.now()
    if filters.is_bound and not filters.is_valid():
        # A filter out of range or naming no practitioner of the practice: a
        # French 400 that says why, never a 500 further down.
        raise inputs.RefusedParameter(
            " ".join(str(error) for errors in filters.errors.values() for error in errors)
        )
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
        among=people,  # read above: not a second time
    )
    return filters, proposals_by_day(request, found, names)


def type_for_booking(request: HttpRequest, type_id: int) -> AppointmentType:
    appointment_type = selectors.appointment_type_in_practice(
        request.practice, type_id, active_only=True
    )
    if appointment_type is None:
        raise Http404
    return appointment_type


def not_bookable(request: HttpRequest, appointment_type: AppointmentType) -> HttpResponse:
    record_event(
        actor=request.actor,
        action=Action.PERMISSION_DENIED,
        outcome=Outcome.DENIED,
        object_type=ObjectType.APPOINTMENT_TYPE,
        object_id=appointment_type.pk,
        detail={"status": 403, "reason": "not_bookable_by_telesecretary"},
    )
    return render(
        request,
        "appointments/not_bookable.html",
        {"appointment_type": appointment_type},
        status=403,
    )


@dataclass
class Attempt:
    """What a booking-like POST came to: the service's result, or the French
    message of its refusal with the HTTP status that goes with it."""

    result: object = None
    error: str = ""
    status: int = 200


def attempt(form: Form, change: Callable[[], object]) -> Attempt:
    """The skeleton every booking-like POST shares: an invalid form is a 400; the
    service's refusal is its message, 409 when the slot was just taken, 403 when
    the type is kept by the practice; otherwise the service's result."""
    if not form.is_valid():
        return Attempt(status=400)
    try:
        return Attempt(result=change())
    except SlotTaken as taken:
        return Attempt(error=taken.message, status=409)
    except BookingError as refused:
        return Attempt(error=refused.message, status=400)
    except TypeNotBookable as refused:
        return Attempt(error=str(refused), status=403)


def slot_practitioner(request: HttpRequest, form: Form) -> tuple[User | None, datetime]:
    """The practitioner and start a slot form names, the practitioner fetched
    within the practice: None for a forged id, which the service refuses."""
    practitioner_id, start = form.cleaned_data["slot"]
    return selectors.practitioner_in_practice(request.practice, practitioner_id), start


def refused_detail(status: int) -> dict:
    """What a page's audit event adds when the POST it answers was refused."""
    return {"refused": status} if status != 200 else {}


def appointment_or_404(request: HttpRequest, appointment_id) -> Appointment:
    appointment = selectors.appointment_in_practice(request.practice, appointment_id)
    if appointment is None:
        raise Http404
    return appointment
