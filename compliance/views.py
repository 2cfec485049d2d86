"""Compliance officer pages (provider) and practice pages of the compliance app."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import provider_permission
from audit.models import Action
from audit.services import record_event
from compliance import selectors, services
from compliance.forms import AcknowledgeForm
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
