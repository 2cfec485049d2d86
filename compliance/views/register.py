"""The record of processing (art. 30), per practice, as a page and a PDF."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.models import Practice
from accounts.permissions import provider_permission
from audit.models import Action
from audit.services import record_event
from compliance import register
from compliance.register_pdf import register_pdf


@provider_permission("manage_compliance")
@require_GET
def register_index_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type="processing_register")
    practices = Practice.objects.order_by("name")
    return render(request, "compliance/register_index.html", {"practices": practices})


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
    return render(request, "compliance/register.html", context)


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
