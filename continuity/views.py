"""Compliance pages of the continuity app (provider role: manage_compliance),
and the page explaining a training block."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Practice
from accounts.permissions import any_authenticated, provider_permission
from audit.models import Action
from audit.services import record_event
from continuity import register, services, training
from continuity.forms import TrainingSessionForm
from continuity.models import BackupRun, DrillResult, TrainingSession
from continuity.register_pdf import register_pdf


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


@provider_permission("manage_compliance")
@require_GET
def register_index_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="processing_register")
    practices = Practice.objects.order_by("name")
    return render(request, "continuity/register_index.html", {"practices": practices})


@provider_permission("manage_compliance")
@require_GET
def register_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    record_event(
        actor=request.actor,
        action=Action.VIEW,
        practice=practice,
        object_type="processing_register",
        object_id=practice.pk,
    )
    context = register.processing_register(practice)
    return render(request, "continuity/register.html", context)


@provider_permission("manage_compliance")
@require_GET
def register_pdf_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    record_event(
        actor=request.actor,
        action=Action.EXPORT,
        practice=practice,
        object_type="processing_register",
        object_id=practice.pk,
        detail={"format": "pdf"},
    )
    response = HttpResponse(register_pdf(practice), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="registre-{practice.slug}.pdf"'
    return response
