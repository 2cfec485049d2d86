"""Compliance officer pages (provider) and practice pages of the compliance app."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Practice
from accounts.permissions import practice_permission, provider_permission
from audit.models import Action
from audit.services import record_event
from compliance import retention, selectors, services
from compliance.forms import AcknowledgeForm, RetentionForm
from compliance.models import Alert


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _render_alerts(request: HttpRequest, *, failed: tuple[int, AcknowledgeForm] | None = None):
    alerts = selectors.alerts_for_review()
    record_event(
        action=Action.LIST,
        request=request,
        object_type="compliance_alert",
        detail={"count": len(alerts)},
    )
    forms = {alert.pk: AcknowledgeForm(prefix=f"a{alert.pk}") for alert in alerts}
    if failed:
        forms[failed[0]] = failed[1]
    rows = [(alert, forms[alert.pk]) for alert in alerts]
    status = 400 if failed else 200
    return _no_store(render(request, "compliance/alert_list.html", {"rows": rows}, status=status))


@provider_permission("manage_compliance")
@require_GET
def alert_list_view(request: HttpRequest) -> HttpResponse:
    return _render_alerts(request)


@provider_permission("manage_compliance")
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=alert_id)
    form = AcknowledgeForm(request.POST, prefix=f"a{alert.pk}")
    if not form.is_valid() or not form.cleaned_data["comment"].strip():
        if form.is_valid():
            form.add_error(
                "comment", _("Un commentaire est obligatoire pour acquitter une alerte.")
            )
        return _render_alerts(request, failed=(alert.pk, form))
    if alert.acknowledged_at is not None:
        messages.info(request, _("Cette alerte était déjà acquittée."))
        return redirect("compliance:alert_list")
    services.alert_acknowledge(
        alert=alert, actor=request.user, comment=form.cleaned_data["comment"], request=request
    )
    messages.success(request, _("Alerte acquittée."))
    return redirect("compliance:alert_list")


# ---------------------------------------------------------------- retention


def _retention_page(request: HttpRequest, practice: Practice, *, done_url: str, report: bool):
    current = retention.policies_for(practice)
    form = RetentionForm(request.POST or None, current=current)
    if request.method == "POST":
        if form.is_valid():
            for kind in retention.RULES:
                if form.cleaned_data[kind] == current[kind]:
                    continue  # a default stays a default (and nothing to audit)
                services.retention_policy_set(
                    practice=practice,
                    kind=kind,
                    days=form.cleaned_data[kind],
                    actor=request.user,
                    request=request,
                )
            messages.success(request, _("Durées de conservation enregistrées."))
            return redirect(done_url)
        status = 400
    else:
        status = 200
        record_event(
            action=Action.VIEW,
            request=request,
            practice=practice,
            object_type="retention_policy",
            object_id=practice.pk,
        )
    rows = [(form[kind], rule, current[kind]) for kind, rule in retention.RULES.items()]
    context = {
        "practice_obj": practice,
        "form": form,
        "rows": rows,
        "report": retention.purge_report(practice) if report else None,
    }
    return render(request, "compliance/retention.html", context, status=status)


@practice_permission("manage_practice_settings")
@require_http_methods(["GET", "POST"])
def practice_retention_view(request: HttpRequest, practice: str) -> HttpResponse:
    url = reverse("compliance:practice_retention", args=[request.practice.slug])
    return _retention_page(request, request.practice, done_url=url, report=False)


@provider_permission("manage_compliance")
@require_GET
def retention_index_view(request: HttpRequest) -> HttpResponse:
    practices = list(Practice.objects.order_by("name"))
    record_event(
        action=Action.LIST,
        request=request,
        object_type="retention_policy",
        detail={"count": len(practices)},
    )
    return render(request, "compliance/retention_index.html", {"practices": practices})


@provider_permission("manage_compliance")
@require_http_methods(["GET", "POST"])
def retention_view(request: HttpRequest, slug: str) -> HttpResponse:
    practice = get_object_or_404(Practice, slug=slug)
    url = reverse("compliance:retention", args=[practice.slug])
    return _retention_page(request, practice, done_url=url, report=True)
