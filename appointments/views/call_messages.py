"""Call messages: left by the telesecretariat, read and handled by the practitioner."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import practice_permission
from appointments import selectors
from appointments.forms import (
    CallMessageForm,
)
from appointments.models import CallMessage
from appointments.services.call_messages import call_message_handle, call_message_leave
from appointments.views.common import (
    Attempt,
    attempt,
    local_time,
    patient_label,
    refused_detail,
)
from audit.models import Action, ObjectType
from audit.services import patients_shown, record_event
from patients import selectors as patient_selectors
from patients.decorators import sealed_data


def _leave(request: HttpRequest, form: CallMessageForm, patient) -> CallMessage:
    return call_message_leave(
        practice=request.practice,
        practitioner=selectors.practitioner_in_practice(
            request.practice, form.cleaned_data["practitioner"]
        ),
        text=form.cleaned_data["text"],
        urgent=form.cleaned_data["urgent"],
        patient=patient,
        actor=request.actor,
    )


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
    outcome = Attempt()
    if request.method == "POST":
        outcome = attempt(form, lambda: _leave(request, form, patient))
        if outcome.result is not None:
            messages.success(request, _("Message transmis au praticien."))
            return redirect("accounts:practice_home", request.practice.slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        object_type=ObjectType.CALL_MESSAGE_FORM,
        object_id=patient.pk if patient else "",
        detail=refused_detail(outcome.status),
    )
    context = {
        "form": form,
        "patient_label": patient_label(patient) if patient else "",
        "error": outcome.error,
    }
    return render(request, "appointments/message_new.html", context, status=outcome.status)


@practice_permission("read_call_messages")
@never_cache
@require_GET
@sealed_data
def inbox_view(request: HttpRequest, practice: str) -> HttpResponse:
    found = selectors.inbox(request.practice, request.user)
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type=ObjectType.CALL_MESSAGE,
        detail={"count": len(found), "unhandled": sum(m.handled_at is None for m in found)}
        | patients_shown(m.patient_id for m in found if m.patient_id),
    )
    entries = [
        {
            "message": message,
            "text": message.read("text"),
            "patient": patient_label(message.patient) if message.patient_id else "",
            "at": date_format(local_time(request, message.created_at), "j F Y H:i"),
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
    call_message_handle(message=found, actor=request.actor)
    messages.success(request, _("Message marqué comme traité."))
    return redirect("appointments:inbox", request.practice.slug)
