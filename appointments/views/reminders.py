"""Reminders to check: the day-before reminders that were claimed but never
confirmed sent (a worker lost mid-send, a gateway that never answered). The
practice's telesecretaries resend or dismiss them (book_appointment: they, and
the practitioners, manage the practice's appointments and talk to its patients;
the practice manager's role holds no patient identity)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import practice_permission
from appointments import reminders, selectors
from appointments.models import Reminder
from appointments.views.common import patient_label
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from patients.decorators import sealed_data


def _row(request: HttpRequest, reminder: Reminder) -> dict:
    zone = selectors.practice_zone(request.practice)
    appointment = reminder.appointment
    return {
        "reminder": reminder,
        "patient": patient_label(appointment.patient),
        "when": date_format(appointment.start.astimezone(zone), "l j F Y, H:i"),
        "claimed": date_format(reminder.claimed_at.astimezone(zone), "j F Y, H:i"),
        "practitioner": appointment.practitioner.get_full_name()
        or appointment.practitioner.username,
        "actionable": reminder.status == Reminder.Status.PENDING,
        # Every pending one listed here is stuck, not "being sent".
        "state": _("Envoi non confirmé")
        if reminder.status == Reminder.Status.PENDING
        else reminder.get_status_display(),
    }


def _render_list(request: HttpRequest, status: int = 200) -> HttpResponse:
    found = selectors.reminders_to_check(request.practice, timezone.now())
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type=ObjectType.REMINDER,
        detail={"count": len(found)}
        | patients_shown(reminder.appointment.patient_id for reminder in found),
    )
    rows = [_row(request, reminder) for reminder in found]
    return render(request, "appointments/reminders_to_check.html", {"rows": rows}, status=status)


@practice_permission("book_appointment")
@never_cache
@require_GET
@sealed_data
def reminders_to_check_view(request: HttpRequest, practice: str) -> HttpResponse:
    return _render_list(request)


@sealed_data
def _handle(request: HttpRequest, reminder_id: int, service, done: str) -> HttpResponse:
    reminder = selectors.reminder_in_practice(request.practice, reminder_id)
    if reminder is None:
        raise Http404
    try:
        service(reminder=reminder, actor=request.actor)
    except reminders.ReminderRefused as refused:
        # Handled meanwhile by someone else, or no longer worth sending: the list
        # as it is now, with why.
        messages.error(request, str(refused))
        return _render_list(request, status=409)
    messages.success(request, done)
    return redirect("appointments:reminders_to_check", request.practice.slug)


@practice_permission("book_appointment")
@never_cache
@require_POST
def reminder_resend_view(request: HttpRequest, practice: str, reminder: int) -> HttpResponse:
    return _handle(
        request, reminder, reminders.reminder_resend, _("Le rappel va être renvoyé au patient.")
    )


@practice_permission("book_appointment")
@never_cache
@require_POST
def reminder_dismiss_view(request: HttpRequest, practice: str, reminder: int) -> HttpResponse:
    return _handle(
        request, reminder, reminders.reminder_dismiss, _("Le rappel ne sera pas renvoyé.")
    )
