"""Compliance pages of the continuity app (provider role: manage_compliance),
and the page explaining a training block."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import any_authenticated, provider_permission
from audit.models import Action
from audit.services import record_event
from continuity import services, training
from continuity.forms import TrainingSessionForm
from continuity.models import BackupRun, DrillResult, TrainingSession


@any_authenticated
@require_GET
def training_required_view(request: HttpRequest) -> HttpResponse:
    status = training.training_status(request.user)
    return render(request, "continuity/training_required.html", {"status": status})


def _training_page(request: HttpRequest, form: TrainingSessionForm, status: int = 200):
    statuses = training.staff_statuses()
    context = {
        "form": form,
        "statuses": statuses,
        "overdue": [s for s in statuses if s.overdue],
        "sessions": TrainingSession.objects.prefetch_related("attendees")[:20],
    }
    return render(request, "continuity/training.html", context, status=status)


@provider_permission("manage_compliance")
@require_GET
def training_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="training_status")
    return _training_page(request, TrainingSessionForm())


@provider_permission("manage_compliance")
@require_POST
def training_record_view(request: HttpRequest) -> HttpResponse:
    form = TrainingSessionForm(request.POST)
    if not form.is_valid():
        record_event(actor=request.actor, action=Action.LIST, object_type="training_status")
        return _training_page(request, form, status=400)
    session = services.training_session_record(
        day=form.cleaned_data["date"],
        topic=form.cleaned_data["topic"],
        attendees=list(form.cleaned_data["attendees"]),
        actor=request.actor,
    )
    messages.success(
        request,
        _("Session enregistrée : %(count)d participant(s).") % {"count": session.attendees.count()},
    )
    return redirect("continuity:training")


@provider_permission("manage_compliance")
@require_GET
def continuity_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="restore_drill")
    context = {
        "drills": DrillResult.objects.all()[:24],
        "backups": BackupRun.objects.all()[:14],
    }
    return render(request, "continuity/continuity.html", context)
