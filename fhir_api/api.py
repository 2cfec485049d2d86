"""The FHIR R4 endpoints (docs/interop.md). Each one wears `http.api`, which
authenticates the client, checks its SMART scope, enters its practice and
audits the call; the view reads or changes rows of that practice only."""

import json
import uuid
from datetime import UTC, datetime, time, timedelta

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from pydantic import ValidationError

from accounts.permissions import agreement_exempt
from appointments.services.base import BookingError, SlotTaken
from appointments.services.booking import appointment_book, appointment_cancel
from audit.models import ObjectType
from fhir_api import resources, selectors
from fhir_api import scopes as smart
from fhir_api.http import (
    ApiError,
    Call,
    Result,
    api,
    fhir_response,
    one,
    page_size,
    search_params,
    searchset,
)
from patients.selectors import patient_match

# CapabilityStatement and SMART discovery (public, like every FHIR server's) ------


def _capability(request: HttpRequest) -> dict:
    token_url = request.build_absolute_uri(reverse("fhir:token"))
    searches = {
        "Practitioner": [],
        "PractitionerRole": [("practitioner", "reference")],
        "Schedule": [("actor", "reference")],
        "Slot": [
            ("schedule", "reference"),
            ("service-type", "token"),
            ("start", "date"),
            ("status", "token"),
        ],
        "Patient": [
            ("telecom", "token"),
            ("birthdate", "date"),
            ("family", "string"),
            ("given", "string"),
        ],
        "Appointment": [
            ("patient", "reference"),
            ("practitioner", "reference"),
            ("date", "date"),
            ("status", "token"),
        ],
    }
    rest_resources = []
    for name in smart.RESOURCES:
        interactions = [{"code": "search-type"}]
        if name != "Slot":
            interactions.append({"code": "read"})
        if name == "Appointment":
            interactions += [{"code": "create"}, {"code": "update"}]
        rest_resources.append(
            {
                "type": name,
                "interaction": interactions,
                "searchParam": [{"name": n, "type": t} for n, t in searches[name]],
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-30",
        "kind": "instance",
        "software": {"name": "Secretariat"},
        "implementation": {
            "description": "Secretariat FHIR API",
            "url": request.build_absolute_uri("/fhir/"),
        },
        "fhirVersion": resources.FHIR_VERSION,
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/"
                            "oauth-uris",
                            "extension": [{"url": "token", "valueUri": token_url}],
                        }
                    ],
                },
                "resource": rest_resources,
            }
        ],
    }


@login_not_required
@agreement_exempt
@require_GET
def metadata_view(request: HttpRequest) -> HttpResponse:
    """No token needed and no practice data: the server's capabilities."""
    return fhir_response(_capability(request))


@login_not_required
@agreement_exempt
@require_GET
def smart_configuration_view(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(
        {
            "token_endpoint": request.build_absolute_uri(reverse("fhir:token")),
            "revocation_endpoint": request.build_absolute_uri(reverse("fhir:revoke")),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "scopes_supported": sorted(smart.SCOPES),
            "capabilities": ["client-confidential-symmetric", "permission-v2"],
        }
    )
    response["Cache-Control"] = "no-store"
    return response


# Practitioners, roles, schedules ----------------------------------------------------


def _int_cursor(params) -> int | None:
    cursor = one(params, "_page")
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 12:
        raise ApiError(400, _("Page inconnue."))
    return int(cursor)


def _reference_id(value: str, resource: str) -> str:
    """ "Practitioner/12" or "12" -> "12"."""
    prefix = f"{resource}/"
    return value[len(prefix) :] if value.startswith(prefix) else value


def _practitioner_search(call: Call, allowed: set[str], param: str | None, render) -> Result:
    params = search_params(call.request, allowed)
    size = page_size(params)
    wanted = one(params, param) if param else None
    if wanted is not None:
        found = selectors.practitioner(call.practice, _reference_id(wanted, "Practitioner"))
        users = [found] if found is not None else []
        cursor = None
    else:
        users = selectors.practitioners_page(
            call.practice, after=_int_cursor(params), limit=size + 1
        )
        cursor = str(users[size - 1].pk) if len(users) > size else None
        users = users[:size]
    return searchset(call, [render(call, user) for user in users], cursor, detail=_count(users))


def _count(rows: list) -> dict:
    return {"count": len(rows)}


def _practitioner(call: Call, user) -> dict:
    return resources.practitioner(user)


def _role(call: Call, user) -> dict:
    return resources.practitioner_role(user, call.practice)


def _schedule(call: Call, user) -> dict:
    return resources.schedule(user, selectors.active_types(call.practice))


def _read_practitioner(call: Call, resource_id: str, render) -> Result:
    user = selectors.practitioner(call.practice, resource_id)
    if user is None:
        raise ApiError(404, _("Ressource introuvable."))
    return Result(render(call, user), object_id=resource_id)


@api("Practitioner", GET="s")
def practitioner_search(call: Call) -> Result:
    return _practitioner_search(call, set(), None, _practitioner)


@api("Practitioner", GET="r")
def practitioner_read(call: Call, resource_id: str) -> Result:
    return _read_practitioner(call, resource_id, _practitioner)


@api("PractitionerRole", GET="s")
def practitioner_role_search(call: Call) -> Result:
    return _practitioner_search(call, {"practitioner"}, "practitioner", _role)


@api("PractitionerRole", GET="r")
def practitioner_role_read(call: Call, resource_id: str) -> Result:
    return _read_practitioner(call, resource_id, _role)


@api("Schedule", GET="s")
def schedule_search(call: Call) -> Result:
    return _practitioner_search(call, {"actor"}, "actor", _schedule)


@api("Schedule", GET="r")
def schedule_read(call: Call, resource_id: str) -> Result:
    return _read_practitioner(call, resource_id, _schedule)


# Slots: the pages' slot engine ------------------------------------------------------


def _date_bound(value: str) -> tuple[str, datetime]:
    """A FHIR date search value ("ge2026-12-01", "lt2026-12-01T12:00:00Z")
    as (prefix, aware datetime); a bare date is its midnight in UTC."""
    prefix = value[:2] if value[:2] in ("eq", "ge", "gt", "le", "lt") else "eq"
    text = value[2:] if value[:2] == prefix else value
    moment = parse_datetime(text) if "T" in text else None
    if moment is None:
        day = parse_date(text) if "T" not in text else None
        if day is None:
            raise ApiError(400, _("Date de recherche illisible : %(value)s.") % {"value": value})
        moment = datetime.combine(day, time.min, tzinfo=UTC)
    if timezone.is_naive(moment):
        raise ApiError(400, _("Une date et heure de recherche doit porter son fuseau."))
    return prefix, moment


def _window(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """[start, end) from ge/gt/le/lt/eq values (eq a whole UTC day)."""
    start = end = None
    for value in values:
        prefix, moment = _date_bound(value)
        if prefix in ("ge", "gt", "eq"):
            start = max(start, moment) if start else moment
        if prefix in ("le", "lt"):
            end = min(end, moment) if end else moment
        if prefix == "eq":
            end = moment + timedelta(days=1)
    return start, end


def _token_code(value: str) -> str:
    system, bar, code = value.rpartition("|")
    if bar and system not in ("", resources.TYPE_SYSTEM):
        return ""
    return code


def _slot_cursor(params) -> tuple[datetime, int] | None:
    cursor = one(params, "_page")
    if cursor is None:
        return None
    epoch, _dot, skip = cursor.partition(".")
    if not (epoch.isdigit() and skip.isdigit()) or len(epoch) > 12 or len(skip) > 4:
        raise ApiError(400, _("Page inconnue."))
    return datetime.fromtimestamp(int(epoch), tz=UTC), int(skip)


@api("Slot", GET="s")
def slot_search(call: Call) -> Result:
    params = search_params(call.request, {"schedule", "service-type", "start", "status"})
    size = page_size(params)
    type_code = one(params, "service-type")
    if type_code is None:
        raise ApiError(400, _("Précisez service-type : la durée d'un créneau est celle du type."))
    status = one(params, "status")
    if status not in (None, "free"):
        raise ApiError(400, _("Seuls les créneaux libres (status=free) sont publiés."))
    start, end = _window(params.get("start", []))
    appointment_type = selectors.active_type(call.practice, _token_code(type_code))
    schedule = one(params, "schedule")
    practitioner = None
    if schedule is not None:
        practitioner = selectors.practitioner(call.practice, _reference_id(schedule, "Schedule"))
    if appointment_type is None or (schedule is not None and practitioner is None):
        return searchset(call, [], None, detail={"count": 0})
    cursor = _slot_cursor(params)
    start_from = max(filter(None, [start, timezone.now()]))
    skip = 0
    if cursor is not None:
        start_from, skip = cursor
    found = selectors.free_slots(
        call.practice,
        appointment_type=appointment_type,
        practitioner=practitioner,
        start_from=start_from,
        skip=skip,
        count=size + 1,
    )
    if end is not None:
        found = [slot for slot in found if slot.start < end]
    page, following = found[:size], found[size:]
    next_cursor = None
    if following:
        ties = sum(1 for slot in page if slot.start == following[0].start)
        skip_next = ties + (skip if following[0].start == start_from else 0)
        next_cursor = f"{int(following[0].start.timestamp())}.{skip_next}"
    entries = [resources.slot(slot, appointment_type) for slot in page]
    return searchset(call, entries, next_cursor, object_type=ObjectType.AGENDA, detail=_count(page))


# Patients: blind indexes only ------------------------------------------------------


def _patient_id(value: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _telecom(value: str) -> str:
    system, bar, number = value.partition("|")
    if bar and system != "phone":
        raise ApiError(400, _("Seuls les numéros de téléphone (phone|…) sont recherchables."))
    return number if bar else value


@api("Patient", GET="s")
def patient_search(call: Call) -> Result:
    params = search_params(call.request, {"telecom", "birthdate", "family", "given"})
    size = page_size(params)
    birthdate = one(params, "birthdate")
    day = None
    if birthdate is not None:
        day = parse_date(birthdate[2:] if birthdate.startswith("eq") else birthdate)
        if day is None:
            raise ApiError(400, _("birthdate : une date AAAA-MM-JJ (égalité seulement)."))
    telecom = one(params, "telecom")
    cursor = one(params, "_page")
    after = _patient_id(cursor) if cursor is not None else None
    if cursor is not None and after is None:
        raise ApiError(400, _("Page inconnue."))
    found = patient_match(
        call.practice,
        phone=_telecom(telecom) if telecom is not None else None,
        birth_date=day,
        family=one(params, "family"),
        given=one(params, "given"),
        after=after,
        limit=size + 1,
    )
    if found is None:
        raise ApiError(
            400,
            _(
                "Recherche de patients : telecom, birthdate ou family (given avec family), "
                "aux valeurs exactes."
            ),
        )
    page = found[:size]
    next_cursor = str(page[-1].pk) if len(found) > size else None
    detail = {"count": len(page), "patient_ids": [str(row.pk) for row in page]}
    entries = [resources.patient(row) for row in page]
    return searchset(
        call, entries, next_cursor, object_type=ObjectType.PATIENT_SEARCH, detail=detail
    )


@api("Patient", GET="r")
def patient_read(call: Call, resource_id: str) -> Result:
    row = selectors.patient(call.practice, _patient_id(resource_id))
    if row is None:
        raise ApiError(404, _("Ressource introuvable."))
    return Result(resources.patient(row), object_type=ObjectType.PATIENT, object_id=row.pk)


# Appointments: the booking services, the same rules and constraint ----------------


def _appointment_or_404(call: Call, resource_id: str):
    appointment_id = _patient_id(resource_id)
    row = selectors.appointment(call.practice, appointment_id) if appointment_id else None
    if row is None:
        raise ApiError(404, _("Ressource introuvable."))
    return row


@api("Appointment", GET="r", PUT="u")
def appointment_instance(call: Call, resource_id: str) -> Result:
    row = _appointment_or_404(call, resource_id)
    if call.request.method == "PUT":
        return _appointment_update(call, row)
    detail = {"patient_ids": [str(row.patient_id)]}
    return Result(
        resources.appointment(row),
        object_type=ObjectType.APPOINTMENT,
        object_id=row.pk,
        detail=detail,
    )


@api("Appointment", GET="s", POST="c")
def appointment_type_endpoint(call: Call) -> Result:
    if call.request.method == "POST":
        return _appointment_create(call)
    return _appointment_search(call)


def _appointment_cursor(params) -> tuple[datetime, str] | None:
    cursor = one(params, "_page")
    if cursor is None:
        return None
    epoch, _dot, pk = cursor.partition("~")
    moment = parse_datetime(epoch)
    if moment is None or _patient_id(pk) is None:
        raise ApiError(400, _("Page inconnue."))
    return moment, pk


def _appointment_search(call: Call) -> Result:
    params = search_params(call.request, {"patient", "practitioner", "actor", "date", "status"})
    size = page_size(params)
    patient = one(params, "patient")
    patient_id = _patient_id(_reference_id(patient, "Patient")) if patient is not None else None
    practitioner = one(params, "practitioner") or one(params, "actor")
    practitioner_id = None
    if practitioner is not None:
        practitioner_id = _reference_id(practitioner, "Practitioner")
    status = one(params, "status")
    if (patient is not None and patient_id is None) or (
        practitioner_id is not None and not practitioner_id.isdigit()
    ):
        return searchset(call, [], None, object_type=ObjectType.APPOINTMENTS, detail=_count([]))
    if status is not None and status not in resources.STATUS_FROM_FHIR:
        raise ApiError(400, _("Statut de rendez-vous inconnu."))
    start, end = _window(params.get("date", []))
    rows = selectors.appointments_page(
        call.practice,
        patient_id=patient_id,
        practitioner_id=int(practitioner_id) if practitioner_id else None,
        start_after=start,
        start_before=end,
        status=resources.STATUS_FROM_FHIR.get(status) if status else None,
        after=_appointment_cursor(params),
        limit=size + 1,
    )
    page = rows[:size]
    next_cursor = None
    if len(rows) > size:
        last = page[-1]
        next_cursor = f"{resources.instant(last.start)}~{last.pk}"
    detail = {"count": len(page), "patient_ids": sorted({str(row.patient_id) for row in page})}
    entries = [resources.appointment(row) for row in page]
    return searchset(call, entries, next_cursor, object_type=ObjectType.APPOINTMENTS, detail=detail)


def _body(call: Call) -> dict:
    """The request's Appointment, valid for fhir.resources, or 400 / 422."""
    try:
        body = json.loads(call.request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, _("Le corps de la requête n'est pas du JSON.")) from None
    if not isinstance(body, dict) or body.get("resourceType") != "Appointment":
        raise ApiError(422, _("Le corps doit être une ressource Appointment."))
    try:
        return resources.normalised(body)
    except (ValidationError, ValueError):
        raise ApiError(422, _("Ressource Appointment invalide.")) from None


def _participants(body: dict) -> dict[str, str]:
    found = {}
    for participant in body.get("participant") or []:
        reference = (participant.get("actor") or {}).get("reference") or ""
        kind, _slash, ident = reference.partition("/")
        if kind in ("Patient", "Practitioner") and ident:
            if kind in found:
                raise ApiError(422, _("Un seul patient et un seul praticien par rendez-vous."))
            found[kind] = ident
    return found


def _booking_target(call: Call, body: dict):
    """(practitioner, type, start) from `slot` or from participant, serviceType, start."""
    slot_refs = [ref.get("reference", "") for ref in body.get("slot") or []]
    if len(slot_refs) > 1:
        raise ApiError(422, _("Un rendez-vous occupe un seul créneau."))
    if slot_refs:
        parsed = resources.parse_slot_id(_reference_id(slot_refs[0], "Slot"))
        if parsed is None:
            raise ApiError(422, _("Créneau inconnu."))
        practitioner_id, type_id, start = parsed
        practitioner_ref = str(practitioner_id)
        type_code = str(type_id)
    else:
        practitioner_ref = _participants(body).get("Practitioner", "")
        codes = [
            coding.get("code", "")
            for concept in body.get("serviceType") or []
            for coding in concept.get("coding") or []
            if coding.get("system") in (None, resources.TYPE_SYSTEM)
        ]
        type_code = codes[0] if len(codes) == 1 else ""
        start = parse_datetime(body.get("start") or "")
        if start is None or timezone.is_naive(start):
            raise ApiError(422, _("Indiquez start (date et heure avec fuseau) ou un slot."))
    practitioner = selectors.practitioner(call.practice, practitioner_ref)
    appointment_type = selectors.active_type(call.practice, type_code)
    if practitioner is None:
        raise ApiError(422, _("Praticien inconnu dans ce cabinet."))
    if appointment_type is None:
        raise ApiError(422, _("Type de rendez-vous inconnu (serviceType) dans ce cabinet."))
    return practitioner, appointment_type, start


def _appointment_create(call: Call) -> Result:
    body = _body(call)
    if body.get("status") not in ("booked", None):
        raise ApiError(422, _("Un rendez-vous se crée au statut booked."))
    patient_id = _patient_id(_participants(body).get("Patient", ""))
    patient = selectors.patient(call.practice, patient_id)
    if patient is None:
        raise ApiError(422, _("Patient inconnu dans ce cabinet."))
    practitioner, appointment_type, start = _booking_target(call, body)
    try:
        row = appointment_book(
            practice=call.practice,
            practitioner=practitioner,
            patient=patient,
            appointment_type=appointment_type,
            start=start,
            reason="",
            actor=call.actor,
        )
    except SlotTaken as error:
        raise ApiError(409, error.message) from None
    except BookingError as error:
        raise ApiError(422, error.message) from None
    row = selectors.appointment(call.practice, row.pk)
    location = call.request.build_absolute_uri(f"/fhir/Appointment/{row.pk}")
    return Result(
        resources.appointment(row), status=201, action=None, headers={"Location": location}
    )


def _appointment_update(call: Call, row) -> Result:
    """Only one change is possible: status=cancelled (SMART scope .u)."""
    body = _body(call)
    if body.get("id") not in (None, str(row.pk)):
        raise ApiError(400, _("L'id du corps n'est pas celui de l'adresse."))
    wanted = body.get("status")
    current = resources.STATUS_TO_FHIR[row.status]
    if wanted == current:
        return Result(
            resources.appointment(row), object_type=ObjectType.APPOINTMENT, object_id=row.pk
        )
    if wanted != "cancelled":
        raise ApiError(422, _("Seule l'annulation (status=cancelled) est possible par l'API."))
    codes = [
        coding.get("code")
        for coding in (body.get("cancelationReason") or {}).get("coding") or []
        if coding.get("code") in row.CancellationCategory.values
    ]
    try:
        appointment_cancel(
            appointment=row, category=codes[0] if codes else "other", actor=call.actor
        )
    except BookingError as error:
        raise ApiError(422, error.message) from None
    row = selectors.appointment(call.practice, row.pk)
    return Result(resources.appointment(row), action=None)
