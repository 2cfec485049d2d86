"""What the API reads, always inside the client's practice (ids of another
practice are simply not found). Appointments page by keyset on (start, id)."""

from datetime import datetime

from django.db.models import Q

from accounts.models import Practice, User
from appointments import selectors as agenda
from appointments import slots
from appointments.models import Appointment, AppointmentType
from fhir_api.models import ApiClient
from patients.models import Patient


def practitioners_page(practice: Practice, *, after: int | None, limit: int) -> list[User]:
    found = agenda.practitioners(practice).order_by("pk")
    if after is not None:
        found = found.filter(pk__gt=after)
    return list(found[:limit])


def practitioner(practice: Practice, user_id: str) -> User | None:
    if not user_id.isdigit() or len(user_id) > 12:
        return None
    return agenda.practitioner_in_practice(practice, int(user_id))


def active_types(practice: Practice) -> list[AppointmentType]:
    return list(agenda.appointment_types(practice).order_by("pk"))


def active_type(practice: Practice, type_id: str) -> AppointmentType | None:
    if not type_id.isdigit() or len(type_id) > 12:
        return None
    return agenda.appointment_type_in_practice(practice, int(type_id), active_only=True)


def free_slots(
    practice: Practice,
    *,
    appointment_type: AppointmentType,
    practitioner: User | None,
    start_from: datetime,
    skip: int,
    count: int,
) -> list[slots.Slot]:
    """Free slots from `start_from` (the page's first start), without the
    `skip` first ones (those at that very start a previous page already gave)."""
    found = slots.find_free_slots(
        practice=practice,
        appointment_type=appointment_type,
        practitioner=practitioner,
        start_from=start_from,
        count=count + skip,
    )
    return found[skip:]


def patient(practice: Practice, patient_id) -> Patient | None:
    if patient_id is None:
        return None
    return Patient.objects.filter(practice=practice, pk=patient_id).first()


def appointment(practice: Practice, appointment_id) -> Appointment | None:
    return agenda.appointment_in_practice(practice, appointment_id)


def appointments_page(
    practice: Practice,
    *,
    patient_id=None,
    practitioner_id: int | None = None,
    start_after: datetime | None = None,
    start_before: datetime | None = None,
    status: str | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int,
) -> list[Appointment]:
    found = Appointment.objects.filter(practice=practice).select_related(
        "appointment_type", "practitioner"
    )
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if practitioner_id is not None:
        found = found.filter(practitioner_id=practitioner_id)
    if start_after is not None:
        found = found.filter(start__gte=start_after)
    if start_before is not None:
        found = found.filter(start__lt=start_before)
    if status is not None:
        found = found.filter(status=status)
    if after is not None:
        start, pk = after
        found = found.filter(Q(start__gt=start) | Q(start=start, pk__gt=pk))
    return list(found.order_by("start", "pk")[:limit])


def api_clients() -> list[ApiClient]:
    """Every practice's clients (the platform admin's page: provider records)."""
    return list(ApiClient.objects.select_related("practice", "created_by").order_by("-created_at"))


def api_client(client_pk: int) -> ApiClient | None:
    return ApiClient.objects.select_related("practice", "application").filter(pk=client_pk).first()
