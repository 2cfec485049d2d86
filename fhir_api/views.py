"""The platform admin's pages: register a practice's API client (its secret
shown once, on the answer to the POST), rotate its secret, revoke it."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import provider_permission
from audit.models import Action, ObjectType
from audit.services import record_event
from fhir_api import selectors, services
from fhir_api.forms import ApiClientForm
from fhir_api.models import ApiClient

ONBOARD = "onboard_practices"


def _page(request: HttpRequest, form=None, status: int = 200, **extra) -> HttpResponse:
    context = {
        "clients": selectors.api_clients(),
        "form": form or ApiClientForm(),
        "token_url": request.build_absolute_uri(reverse("fhir:token")),
        "api_url": request.build_absolute_uri("/fhir/"),
        **extra,
    }
    return render(request, "fhir_api/clients.html", context, status=status)


@provider_permission(ONBOARD)
@never_cache
@require_GET
def clients_view(request: HttpRequest) -> HttpResponse:
    record_event(actor=request.actor, action=Action.LIST, object_type=ObjectType.API_CLIENT)
    return _page(request, ApiClientForm(initial=_preselected(request)))


def _preselected(request: HttpRequest) -> dict:
    """`?cabinet=<slug>` (the onboarding checklist's link) preselects the
    practice; an unknown or closed one is simply not preselected."""
    slug = request.GET.get("cabinet", "")[:100]
    choices = ApiClientForm.base_fields["practice"].queryset
    practice = choices.filter(slug=slug).first() if slug else None
    return {"practice": practice.pk} if practice else {}


@provider_permission(ONBOARD)
@never_cache
@require_http_methods(["GET", "POST"])
def client_create_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return redirect("fhir:clients")
    form = ApiClientForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    api_client, secret = services.api_client_register(
        practice=form.cleaned_data["practice"],
        name=form.cleaned_data["name"],
        scopes=form.cleaned_data["scopes"],
        actor=request.actor,
    )
    return _page(request, shown=_shown(api_client, secret))


def _shown(api_client: ApiClient, secret: str) -> dict:
    return {"client": api_client, "secret": secret}


def _client(client_pk: int) -> ApiClient:
    api_client = selectors.api_client(client_pk)
    if api_client is None:
        raise Http404
    return api_client


@provider_permission(ONBOARD)
@never_cache
@require_POST
def client_rotate_view(request: HttpRequest, client_pk: int) -> HttpResponse:
    api_client = _client(client_pk)
    try:
        api_client, secret = services.api_client_rotate(api_client=api_client, actor=request.actor)
    except services.ClientError:
        messages.error(request, _("Ce client est révoqué : enregistrez-en un nouveau."))
        return redirect("fhir:clients")
    return _page(request, shown=_shown(api_client, secret))


@provider_permission(ONBOARD)
@require_POST
def client_revoke_view(request: HttpRequest, client_pk: int) -> HttpResponse:
    services.api_client_revoke(api_client=_client(client_pk), actor=request.actor)
    messages.success(request, _("Client révoqué : ses jetons ne fonctionnent plus."))
    return redirect("fhir:clients")
