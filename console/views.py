"""The telesecretary's call console: one page for the whole call. Thin views
over the appointments and patients services and selectors (booking goes
through appointments.services.booking.appointment_book and the shared
attempt(): there is no second booking path). Partial updates with htmx: a
request from htmx gets the panel alone, any other the whole page around it."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import any_authenticated, practice_permission, provider_permission
from appointments import rules
from appointments import selectors as appointment_selectors
from appointments.forms import BookingForm
from appointments.models import AppointmentType
from appointments.services.booking import appointment_book
from appointments.slots import find_free_slots
from appointments.views.common import (
    attempt,
    local_time,
    not_bookable,
    patient_label,
    person_name,
    proposals_by_day,
    refused_detail,
    slot_practitioner,
    type_for_booking,
    when,
)
from audit.models import Action, ObjectType, Outcome
from audit.services import patients_shown, record_event
from console import ring, selectors, services
from console.forms import (
    ALL_PRACTITIONERS,
    CallEndForm,
    CallerMessageForm,
    ConsoleSearchForm,
    NewCallerForm,
    PanelForm,
    ReplyForm,
)
from console.models import Call
from console.timing import server_timing
from patients import selectors as patient_selectors
from patients.decorators import sealed_data
from patients.models import Patient
from secretariat import inputs

# Slots are picked with the keys 1 to 9.
SLOTS = 9
CONSOLE = "console"
CALLS = "calls"


@any_authenticated
@never_cache
@require_GET
@server_timing
def home_view(request: HttpRequest) -> HttpResponse:
    """The practices the user answers for, numbered: one key opens a practice's console."""
    practices = selectors.console_practices(request.user)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=None,
        object_type=CONSOLE,
        detail={"practices": len(practices)},
    )
    context = {"practices": practices, "poll_ms": settings.CONSOLE_POLL_MS}
    return render(request, "console/home.html", context)


def _practitioners(request: HttpRequest) -> list[User]:
    """The practice's practitioners, read once a request: the header, the panel's
    choice and the slots' names all show them."""
    if not hasattr(request, "console_practitioners"):
        people = list(appointment_selectors.practitioners(request.practice))
        request.console_practitioners = people
    return request.console_practitioners


def _types(request: HttpRequest) -> list[AppointmentType]:
    """The practice's active types, read once a request: the header's
    instructions and the types the panel offers."""
    if not hasattr(request, "console_types"):
        request.console_types = list(appointment_selectors.appointment_types(request.practice))
    return request.console_types


def _page_context(request: HttpRequest) -> dict:
    practice = request.practice
    return {
        "today": selectors.practitioners_today(practice, timezone.now(), _practitioners(request)),
        "instructions": selectors.instructions(_types(request)),
        "search_form": ConsoleSearchForm(),
        "poll_ms": settings.CONSOLE_POLL_MS,
    }


def _respond(request: HttpRequest, template: str, context: dict, status: int = 200):
    """The panel alone for htmx, the whole console page around it otherwise."""
    if request.htmx:
        return render(request, template, context, status=status)
    page = _page_context(request) | context | {"panel": template}
    return render(request, "console/practice.html", page, status=status)


@practice_permission("book_appointment")
@never_cache
@require_GET
@server_timing
def practice_view(request: HttpRequest, practice: str) -> HttpResponse:
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=CONSOLE,
        object_id=request.practice.pk,
    )
    return render(request, "console/practice.html", _page_context(request))


@practice_permission("book_appointment")
@never_cache
@require_POST
@sealed_data
@server_timing
def search_view(request: HttpRequest, practice: str) -> HttpResponse:
    """The caller by phone, birth date or name (POSTed: no health data in URLs).
    A single match opens straight into booking; typing opens only a phone match."""
    form = ConsoleSearchForm(request.POST)
    if not form.is_valid():
        return _respond(request, "console/_results.html", {"results": []}, status=400)
    found = patient_selectors.patient_search(request.practice, form.cleaned_data["q"])
    record_event(
        actor=request.actor,
        action=Action.SEARCH,
        object_type=ObjectType.PATIENT,
        detail={"kind": found.kind, "results": len(found.patients), "for": CONSOLE}
        | patients_shown(patient.pk for patient in found.patients),
    )
    straight = not form.cleaned_data["auto"] or found.kind == "phone"
    if len(found.patients) == 1 and straight:
        return _respond(request, "console/_booking.html", _booking(request, found.patients[0]))
    if not found.patients and found.kind == "phone":
        # A new caller: the number just searched is already in the form.
        form = NewCallerForm(initial={"phone": form.cleaned_data["q"].strip()})
        return _respond(request, "console/_new_caller.html", {"form": form})
    context = {
        "results": [patient_selectors.summary(patient) for patient in found.patients],
        "kind": found.kind,
    }
    return _respond(request, "console/_results.html", context)


@dataclass
class Numbered:
    key: int
    value: str
    day: str
    hour: str
    practitioner: str


@dataclass
class Choice:
    """What the booking panel starts from: the type, the practitioner asked
    (None for all) and the panel's own choice value."""

    types: list[AppointmentType]
    kind: AppointmentType | None
    practitioner: User | None
    practitioner_value: str
    slots: list[Numbered] = field(default_factory=list)


def _choice(request: HttpRequest, patient: Patient, panel: PanelForm) -> Choice:
    types = selectors.bookable_types(_types(request), request.actor)
    people = _practitioners(request)
    recent = selectors.recent_choices(request.practice, patient)
    wanted = panel.cleaned_data.get("type") if panel.is_valid() else None
    kind = next((t for t in types if t.pk == wanted), None) or selectors.default_type(types, recent)
    asked = panel.practitioner_choice()
    if asked == ALL_PRACTITIONERS:
        practitioner = None
    elif asked is not None:
        practitioner = next((user for user in people if user.pk == asked), None)
    else:
        practitioner = selectors.usual_practitioner(recent, people)
    value = str(practitioner.pk) if practitioner else ALL_PRACTITIONERS
    return Choice(types, kind, practitioner, value)


def _numbered_slots(request: HttpRequest, choice: Choice, start_from) -> list[Numbered]:
    if choice.kind is None:
        return []
    found = find_free_slots(
        practice=request.practice,
        appointment_type=choice.kind,
        practitioner=choice.practitioner,
        start_from=start_from,
        count=SLOTS,
        among=_practitioners(request),
    )
    names = {user.pk: person_name(user) for user in _practitioners(request)}
    days = proposals_by_day(request, found, names)
    flat = [proposal for _day, proposals in days for proposal in proposals]
    return [
        Numbered(key, p.value, p.day, p.hour, p.practitioner) for key, p in enumerate(flat, start=1)
    ]


def _start_from(request: HttpRequest, panel: PanelForm):
    now = timezone.now()
    if panel.is_valid() and panel.cleaned_data["a_partir_du"]:
        day_start, _end = appointment_selectors.day_bounds(
            request.practice, panel.cleaned_data["a_partir_du"]
        )
        return max(now, day_start)
    return now


def _booking(request: HttpRequest, patient: Patient, form=None, error="") -> dict:
    """The booking panel of one patient, its audit event written."""
    panel = PanelForm(request.GET or None)
    if panel.is_bound and not panel.is_valid():
        # A day out of range or a parameter no page makes: a French 400 that
        # says why (issue 12, defect 2), never a 500 further down.
        raise inputs.RefusedParameter(
            " ".join(str(error) for errors in panel.errors.values() for error in errors)
        )
    choice = _choice(request, patient, panel)
    choice.slots = _numbered_slots(request, choice, _start_from(request, panel))
    replies = selectors.replies_for(request.practice, patient)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.PATIENT,
        object_id=patient.pk,
        detail={"for": "console_booking", "proposals": len(choice.slots), "replies": len(replies)},
    )
    return {
        "patient": patient,
        "patient_label": patient_label(patient),
        "birth_date": date.fromisoformat(patient.read("birth_date")),
        "choice": choice,
        "practitioners": _practitioners(request),
        "all_practitioners": ALL_PRACTITIONERS,
        "upcoming": [
            (appointment, when(request, appointment.start))
            for appointment in appointment_selectors.patient_upcoming(
                request.practice, patient, timezone.now()
            )
        ],
        "form": form or BookingForm(),
        "error": error,
        "replies": [(reply, reply.read("text")) for reply in replies],
    }


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
@server_timing
def patient_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    """One caller's booking panel: the type, the usual practitioner, the next
    free slots numbered 1 to 9."""
    patient = patient_selectors.patient_get(request.practice, patient)
    return _respond(request, "console/_booking.html", _booking(request, patient))


@practice_permission("book_appointment")
@never_cache
@require_POST
@sealed_data
@server_timing
def book_view(request: HttpRequest, practice: str, patient, appointment_type: int):
    """Book the picked slot through the appointments service."""
    patient = patient_selectors.patient_get(request.practice, patient)
    kind = type_for_booking(request, appointment_type)
    if not rules.may_book_type(request.actor, kind):
        return not_bookable(request, kind)
    form = BookingForm(request.POST)

    def book():
        practitioner, start = slot_practitioner(request, form)
        return appointment_book(
            practice=request.practice,
            practitioner=practitioner,
            patient=patient,
            appointment_type=kind,
            start=start,
            reason=form.cleaned_data["reason"],
            actor=request.actor,
        )

    outcome = attempt(form, book)
    if outcome.result is not None:
        appointment = outcome.result
        services.call_outcome_set(
            practice=request.practice,
            call=_current_call(request),
            outcome=Call.Outcome.BOOKED,
            actor=request.actor,
        )
        context = {
            "appointment": appointment,
            "patient_label": patient_label(patient),
            "when": when(request, appointment.start),
            "end": local_time(request, appointment.end).strftime("%H:%M"),
        }
        return _respond(request, "console/_booked.html", context)
    context = _booking(request, patient, form=form, error=outcome.error)
    record_event(
        actor=request.actor,
        action=Action.CREATE,
        outcome=Outcome.DENIED,
        object_type=ObjectType.APPOINTMENT,
        detail={"for": CONSOLE} | refused_detail(outcome.status),
    )
    return _respond(request, "console/_booking.html", context, status=outcome.status)


def _duplicates(request: HttpRequest, form: NewCallerForm) -> list:
    """Patients the blind indexes say may be this caller, unless the user confirmed."""
    if form.cleaned_data.get("confirm_duplicate"):
        return []
    found = patient_selectors.duplicates(request.practice, form.identity())
    if found:
        record_event(
            actor=request.actor,
            action=Action.SEARCH,
            object_type=ObjectType.PATIENT,
            detail={"kind": "duplicate_check", "results": len(found), "for": CONSOLE}
            | patients_shown(patient.pk for patient in found),
        )
    return [patient_selectors.summary(patient) for patient in found]


@practice_permission("change_patient_identity")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
@server_timing
def new_caller_view(request: HttpRequest, practice: str) -> HttpResponse:
    """A new caller in the same flow (issue 14 item 3): the least the booking
    needs, a duplicate warning linking the existing patient, then straight
    back to the slots."""
    if request.method == "GET":
        record_event(actor=request.actor, action=Action.VIEW, object_type=ObjectType.PATIENT_FORM)
        return _respond(request, "console/_new_caller.html", {"form": NewCallerForm()})
    form = NewCallerForm(request.POST)
    if not form.is_valid():
        return _respond(request, "console/_new_caller.html", {"form": form}, status=400)
    duplicates = _duplicates(request, form)
    if duplicates:
        context = {"form": form, "duplicates": duplicates}
        return _respond(request, "console/_new_caller.html", context, status=409)
    patient = services.caller_register(
        practice=request.practice,
        identity=form.identity(),
        sms_consent=form.cleaned_data["sms_consent"],
        duplicate_confirmed=bool(form.cleaned_data.get("confirm_duplicate")),
        actor=request.actor,
    )
    return _respond(request, "console/_booking.html", _booking(request, patient))


@any_authenticated
@never_cache
@require_GET
@server_timing
def ringing_view(request: HttpRequest) -> HttpResponse:
    """Polled by an open console: 204 while no new call rings for this agent,
    else the whole page goes to the call (HX-Redirect). Audited when a call is
    handed over only: a poll every half second must not flood the trail.
    "Nothing new" also grants the session a lease on the fast path
    (console/ring.py) until the agent's ring marker, read before the query so
    that a ring committed after it moves it, changes."""
    marker = ring.marker(request.user.pk)
    call = selectors.ringing_call(request.user, timezone.now())
    if call is None or str(call.pk) == request.GET.get("actuel", ""):
        response = HttpResponse(status=204)
        response[ring.HEADER] = marker
        if marker:
            ring.lease_grant(request)
        return response
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=call.practice,
        object_type=services.CALL,
        object_id=call.pk,
        detail={"for": "ringing"},
    )
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse("console:call", args=[call.practice.slug, call.pk])
    return response


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
@server_timing
def call_view(request: HttpRequest, practice: str, call) -> HttpResponse:
    """The console of a call the phone system gave: the practice, and the
    caller's number already searched (a single match already in booking)."""
    found_call = Call.objects.filter(practice=request.practice, pk=call).first()
    if found_call is None:
        raise Http404
    caller = found_call.read("caller")
    context = _page_context(request) | {"call": found_call}
    if not caller:
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            object_type=services.CALL,
            object_id=found_call.pk,
        )
        return render(request, "console/practice.html", context)
    found = patient_selectors.patient_search(request.practice, caller)
    record_event(
        actor=request.actor,
        action=Action.SEARCH,
        object_type=ObjectType.PATIENT,
        object_id=found_call.pk,
        detail={"kind": found.kind, "results": len(found.patients), "for": services.CALL}
        | patients_shown(patient.pk for patient in found.patients),
    )
    context["search_value"] = patient_selectors.display_phone(caller)
    if len(found.patients) == 1:
        context |= _booking(request, found.patients[0]) | {"panel": "console/_booking.html"}
    elif not found.patients:
        form = NewCallerForm(initial={"phone": context["search_value"]})
        context |= {"form": form, "panel": "console/_new_caller.html"}
    else:
        results = [patient_selectors.summary(patient) for patient in found.patients]
        context |= {"results": results, "kind": found.kind, "panel": "console/_results.html"}
    return render(request, "console/practice.html", context)


def _current_call(request: HttpRequest) -> Call | None:
    """The phone system's call a console form names (hidden `appel`), fetched
    within the practice; None for a call taken by hand or a forged id."""
    try:
        return selectors.call_in_practice(request.practice, request.POST.get("appel") or None)
    except (ValueError, ValidationError):
        return None


@practice_permission("book_appointment")
@never_cache
@require_POST
@server_timing
def call_end_view(request: HttpRequest, practice: str) -> HttpResponse:
    """What the call came to when it did not end in a booking (information, a
    message, no patient...): kept per practice for the reports (item 5)."""
    form = CallEndForm(request.POST)
    if not form.is_valid():
        return _respond(request, "console/_call_end.html", {"form": form}, status=400)
    call = services.call_outcome_set(
        practice=request.practice,
        call=_current_call(request),
        outcome=form.cleaned_data["outcome"],
        actor=request.actor,
    )
    return _respond(request, "console/_call_end.html", {"ended": call})


@practice_permission("manage_practice_settings")
@never_cache
@require_GET
def practice_calls_view(request: HttpRequest, practice: str) -> HttpResponse:
    """The practice's calls per day and outcome, no caller and no patient."""
    days = selectors.calls_per_day(request.practice, timezone.now())
    record_event(
        actor=request.actor, action=Action.LIST, object_type=CALLS, detail={"days": len(days)}
    )
    context = {"days": days, "outcomes": Call.Outcome.choices}
    return render(request, "console/calls.html", context)


@provider_permission("onboard_practices")
@never_cache
@require_GET
def platform_calls_view(request: HttpRequest) -> HttpResponse:
    """Call volume per practice, this month and the last: what the provider bills."""
    now = timezone.localtime()
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    months = [
        (this_month, selectors.calls_per_practice(this_month, now + timedelta(seconds=1))),
        (last_month, selectors.calls_per_practice(last_month, this_month)),
    ]
    record_event(
        actor=request.actor,
        action=Action.LIST,
        practice=None,
        object_type=CALLS,
        detail={"practices": len(months[0][1])},
    )
    return render(request, "console/platform_calls.html", {"months": months})


def _message_form(request: HttpRequest, patient: Patient, data=None) -> CallerMessageForm:
    people = _practitioners(request)
    usual = selectors.usual_practitioner(
        selectors.recent_choices(request.practice, patient), people
    )
    initial = {
        "practitioner": usual.pk if usual else None,
        "callback": patient_selectors.display_phone(patient.read("phone")),
    }
    return CallerMessageForm(data, initial=initial, practitioners=people)


@practice_permission("leave_call_message")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
@server_timing
def message_view(request: HttpRequest, practice: str, patient) -> HttpResponse:
    """A message instead of a booking (item 4): the patient preselected, the
    number to call back, the urgency; the call ends as "message"."""
    patient = patient_selectors.patient_get(request.practice, patient)
    form = _message_form(request, patient, request.POST or None)
    context = {"form": form, "patient": patient, "patient_label": patient_label(patient)}
    if request.method == "GET":
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            object_type=ObjectType.PATIENT,
            object_id=patient.pk,
            detail={"for": "console_message"},
        )
        return _respond(request, "console/_message.html", context)
    if not form.is_valid():
        return _respond(request, "console/_message.html", context, status=400)
    message = services.caller_message_leave(
        practice=request.practice,
        practitioner=appointment_selectors.practitioner_in_practice(
            request.practice, form.cleaned_data["practitioner"]
        ),
        patient=patient,
        text=form.cleaned_data["text"],
        callback=form.cleaned_data["callback"],
        urgent=form.cleaned_data["urgent"],
        call=_current_call(request),
        actor=request.actor,
    )
    return _respond(request, "console/_message.html", context | {"left": message})


@practice_permission("read_call_messages")
@never_cache
@require_http_methods(["GET", "POST"])
@sealed_data
def reply_view(request: HttpRequest, practice: str, message) -> HttpResponse:
    """The practitioner answers one of their own call messages; the
    telesecretary reads it to the patient on the next call."""
    found = appointment_selectors.message_for(request.practice, request.user, message)
    if found is None:
        raise Http404
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.message_reply(message=found, text=form.cleaned_data["text"], actor=request.actor)
        messages.success(request, _("Réponse enregistrée : elle sera lue au patient."))
        return redirect("appointments:inbox", request.practice.slug)
    if request.method == "GET":
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            object_type=ObjectType.CALL_MESSAGE,
            object_id=found.pk,
        )
    context = {"form": form, "message": found, "text": found.read("text")}
    return render(request, "console/reply.html", context, status=400 if request.POST else 200)
