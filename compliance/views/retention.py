"""Retention periods: a practice's own page and the compliance officer's."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Practice
from accounts.permissions import practice_permission, provider_permission
from audit.models import Action
from audit.services import record_event
from compliance import retention, services
from compliance.forms import RetentionForm


def _retention_page(request: HttpRequest, practice: Practice, *, done_url: str):
    current = retention.policies_for(practice)
    form = RetentionForm(request.POST or None, current=current)
    if request.method == "POST":
        if form.is_valid():
            for kind in retention.RULES:
                if form.cleaned_data[kind] == current[kind]:
                    continue  # a default stays a default (and nothing to audit)
                services.retention_policy_set(
                    practice=practice, kind=kind, days=form.cleaned_data[kind], actor=request.actor
                )
            messages.success(request, _("Durées de conservation enregistrées."))
            # A shorter period is announced now, with the dry run's counts.
            if retention.purge_announce(practice=practice):
                messages.info(
                    request,
                    _(
                        "Une durée raccourcie ne s'applique qu'après un préavis de %(days)d "
                        "jours : la purge prévue est annoncée aux responsables du cabinet et "
                        "aux délégués à la conformité."
                    )
                    % {"days": retention.NOTICE_DAYS},
                )
            return redirect(done_url)
        status = 400
    else:
        status = 200
        record_event(
            actor=request.actor,
            action=Action.VIEW,
            practice=practice,
            object_type="retention_policy",
            object_id=practice.pk,
        )
    next_run, lines = retention.purge_status(practice)
    context = {
        "practice_obj": practice,
        "form": form,
        "rows": [(form[line.kind], line) for line in lines],
        "next_run": next_run,
        "notice_days": retention.NOTICE_DAYS,
    }
    return render(request, "compliance/retention.html", context, status=status)


@practice_permission("manage_practice_settings")
@require_http_methods(["GET", "POST"])
def practice_retention_view(request: HttpRequest, practice: str) -> HttpResponse:
    url = reverse("compliance:practice_retention", args=[request.practice.slug])
    return _retention_page(request, request.practice, done_url=url)


@provider_permission("manage_compliance")
@require_GET
def retention_index_view(request: HttpRequest) -> HttpResponse:
    practices = list(Practice.objects.order_by("name"))
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="retention_policy",
        detail={"count": len(practices)},
    )
    return render(request, "compliance/retention_index.html", {"practices": practices})


@provider_permission("manage_compliance")
@require_http_methods(["GET", "POST"])
def retention_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    url = reverse("compliance:retention", args=[practice.slug])
    return _retention_page(request, practice, done_url=url)


# ---------------------------------------------------------------- breach incidents
