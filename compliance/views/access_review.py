"""The access review campaigns."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from accounts.permissions import provider_permission
from audit.models import Action
from audit.services import record_event
from compliance import hygiene
from compliance.models import (
    AccessReviewDecision,
)
from compliance.views.common import no_store


@provider_permission("manage_compliance")
@require_GET
def access_review_view(request: HttpRequest) -> HttpResponse:
    campaign = hygiene.open_campaign()
    memberships = list(
        Membership.objects.active()
        .select_related("user", "practice")
        .order_by("practice__name", "role", "user__username")
    )
    decisions = {}
    if campaign is not None:
        decisions = {d.membership_id: d for d in campaign.decisions.select_related("decided_by")}
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="access_review",
        object_id=campaign.pk if campaign else "",
        detail={"count": len(memberships)},
    )
    rows = [(m, decisions.get(m.pk)) for m in memberships]
    context = {"campaign": campaign, "rows": rows}
    return no_store(render(request, "compliance/access_review.html", context))


@provider_permission("manage_compliance")
@require_POST
def access_review_start_view(request: HttpRequest) -> HttpResponse:
    hygiene.campaign_start(actor=request.actor)
    return redirect("compliance:access_review")


@provider_permission("manage_compliance")
@require_POST
def access_review_close_view(request: HttpRequest) -> HttpResponse:
    campaign = hygiene.open_campaign()
    if campaign is not None:
        hygiene.campaign_close(campaign=campaign, actor=request.actor)
        messages.success(request, _("Revue des accès close."))
    return redirect("compliance:access_review")


@provider_permission("manage_compliance")
@require_POST
def access_review_decide_view(request: HttpRequest, membership_id: int, decision: str):
    if decision not in AccessReviewDecision.Decision.values:
        raise Http404
    membership = get_object_or_404(Membership.objects.active(), pk=membership_id)
    campaign = hygiene.open_campaign()
    if campaign is None:
        messages.error(request, _("Démarrez d'abord une revue des accès."))
        return redirect("compliance:access_review")
    if membership.user_id == request.user.pk and decision == "revoke":
        messages.error(request, _("Vous ne pouvez pas révoquer votre propre rôle."))
        return redirect("compliance:access_review")
    try:
        hygiene.membership_review(
            campaign=campaign, membership=membership, decision=decision, actor=request.actor
        )
    except hygiene.AlreadyDecided:
        messages.info(request, _("Ce rôle a déjà été revu dans cette campagne."))
    else:
        messages.success(request, _("Décision enregistrée."))
    return redirect("compliance:access_review")
