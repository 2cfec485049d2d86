"""The compliance officer's audit browser (provider pages, French UI), under
the URL namespace "audit" (compliance/trail_urls.py). It lives in compliance,
above accounts, whose permissions it needs; audit itself stays the ground floor.

Every page that shows audit rows records its own read first (fail closed: if the
record cannot be written, nothing is shown). Filters are POSTed, so that a
patient's id never appears in a URL.
"""

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import provider_permission
from accounts.roles import role_label
from audit import selectors
from audit.chain import canonical_time
from audit.labels import actor_label, detail_rows, detail_text, object_id_words
from audit.models import Action, AuditEvent
from audit.services import record_event
from compliance.trail_forms import EventFilterForm, PatientAccessForm
from secretariat.spreadsheet import CSVWriter


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@provider_permission("browse_audit_trail")
@require_http_methods(["GET", "POST"])
def event_list_view(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.POST or None)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "events": [], "next_after": None}
        return _no_store(render(request, "audit/event_list.html", context, status=400))
    events, next_after = selectors.event_page(
        selectors.filtered_events(**form.filters()),
        after=form.cleaned_data.get("after") if form.is_bound else None,
    )
    record_event(
        actor=request.actor,
        action=Action.LIST,
        object_type="audit_event",
        detail={**form.audit_detail(), "count": len(events)},
    )
    context = {"form": form, "events": events, "next_after": next_after}
    return _no_store(render(request, "audit/event_list.html", context))


@provider_permission("browse_audit_trail")
@require_http_methods(["GET"])
def event_detail_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(AuditEvent.objects.select_related("practice", "chain"), pk=event_id)
    record_event(
        actor=request.actor, action=Action.VIEW, object_type="audit_event", object_id=event.pk
    )
    context = {
        "event": event,
        "detail_json": json.dumps(event.detail, sort_keys=True, ensure_ascii=False, indent=2),
        "detail_rows": detail_rows(event.detail),
        "occurred_utc": canonical_time(event.occurred_at),
    }
    return _no_store(render(request, "audit/event_detail.html", context))


@provider_permission("browse_audit_trail")
@require_http_methods(["GET", "POST"])
def patient_access_view(request: HttpRequest) -> HttpResponse:
    form = PatientAccessForm(request.POST or None)
    context = {"form": form, "events": None, "next_after": None}
    if request.method == "POST":
        if not form.is_valid():
            return _no_store(render(request, "audit/patient_access.html", context, status=400))
        practice, patient_id = form.cleaned_data["practice"], form.cleaned_data["patient_id"]
        events, next_after = selectors.patient_access_page(
            practice, patient_id, after=form.cleaned_data.get("after")
        )
        record_event(
            actor=request.actor,
            action=Action.LIST,
            object_type="audit_patient_report",
            detail={"practice": practice.pk, "patient": str(patient_id), "count": len(events)},
        )
        context.update(events=events, next_after=next_after)
    return _no_store(render(request, "audit/patient_access.html", context))


EXPORT_COLUMNS = [
    "id",
    "chaine",
    "seq",
    "date_utc",
    "utilisateur_id",
    "utilisateur",
    "role",
    "action",
    "type_objet",
    "id_objet",
    "cabinet_id",
    "resultat",
    "ip",
    "navigateur",
    "requete",
    "details",
    "empreinte",
]


def _export_row(event: AuditEvent) -> list:
    # In words, like the pages (audit/labels.py): the codes as recorded and
    # chained stay in the database, where audit_verify checks them.
    values = [
        event.pk,
        event.chain_id,
        event.seq,
        canonical_time(event.occurred_at),
        event.actor_id,
        actor_label(event.actor_username),
        role_label(event.role),
        event.get_action_display(),
        event.object_type_label,
        object_id_words(event.object_type, event.object_id),
        event.practice_id,
        event.get_outcome_display(),
        event.ip_address,
        event.user_agent,
        event.request_id,
        detail_text(event.detail),
        event.hash,
    ]
    return values


@provider_permission("browse_audit_trail")
@require_POST
def export_view(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.POST)
    if not form.is_valid():
        context = {"form": form, "events": [], "next_after": None}
        return _no_store(render(request, "audit/event_list.html", context, status=400))
    # Recorded before the first byte: no export leaves without its trace.
    record_event(
        actor=request.actor,
        action=Action.EXPORT,
        object_type="audit_event",
        detail={**form.audit_detail(), "format": "csv"},
    )
    events = selectors.filtered_events(**form.filters())
    writer = CSVWriter()

    def rows():
        yield writer.writerow(EXPORT_COLUMNS)
        for event in selectors.iter_events(events):
            yield writer.writerow(_export_row(event))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="journal-audit-{stamp}.csv"'
    return _no_store(response)
