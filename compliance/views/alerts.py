"""The compliance officer's alerts and everyone's in-app notices."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import any_authenticated, provider_permission
from audit.models import Action, ObjectType
from audit.services import record_event
from compliance import notices, selectors, services
from compliance.forms import AcknowledgeForm
from compliance.models import (
    Alert,
)
from compliance.views.common import no_store

NOTICE_PAGE = 100


def _render_alerts(request: HttpRequest, *, failed: tuple[int, AcknowledgeForm] | None = None):
    alerts = selectors.alerts_for_review()
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="compliance_alert",
        detail={"count": len(alerts)},
    )
    forms = {alert.pk: AcknowledgeForm(prefix=f"a{alert.pk}") for alert in alerts}
    if failed:
        forms[failed[0]] = failed[1]
    rows = [(alert, forms[alert.pk]) for alert in alerts]
    status = 400 if failed else 200
    return no_store(render(request, "compliance/alert_list.html", {"rows": rows}, status=status))


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
        alert=alert, actor=request.actor, comment=form.cleaned_data["comment"]
    )
    messages.success(request, _("Alerte acquittée."))
    return redirect("compliance:alert_list")


# ---------------------------------------------------------------- notices


@any_authenticated
@require_GET
def notice_list_view(request: HttpRequest) -> HttpResponse:
    """The user's own notices, newest first (unread ones are marked as such)."""
    rows = list(notices.visible_notices(request.user).order_by("-id")[:NOTICE_PAGE])
    record_event(
        actor=request.actor,
        action=Action.LIST,
        practice=None,
        object_type=ObjectType.NOTICE,
        detail={"count": len(rows)},
    )
    context = {"rows": [(notice, notices.text_of(notice)) for notice in rows]}
    return no_store(render(request, "compliance/notice_list.html", context))


@any_authenticated
@require_POST
def notice_open_view(request: HttpRequest, notice_id: int) -> HttpResponse:
    """Mark one notice read and go where it points (or back to the inbox)."""
    notice = get_object_or_404(notices.visible_notices(request.user), pk=notice_id)
    if notice.read_at is None:
        notices.notices_mark_read(user=request.user, ids=[notice.pk])
        record_event(
            actor=request.actor,
            action=Action.UPDATE,
            practice=None,
            object_type=ObjectType.NOTICE,
            object_id=notice.pk,
            detail={"read": 1},
        )
    return redirect(notices.text_of(notice).url or "compliance:notice_list")


@any_authenticated
@require_POST
def notice_read_all_view(request: HttpRequest) -> HttpResponse:
    count = notices.notices_mark_read(user=request.user)
    record_event(
        actor=request.actor,
        action=Action.UPDATE,
        practice=None,
        object_type=ObjectType.NOTICE,
        detail={"read": count},
    )
    return redirect("compliance:notice_list")


# ---------------------------------------------------------------- retention
