"""Our rows as FHIR R4 resources (JSON dicts), and the validation of what goes
out and comes in with `fhir.resources`.

fhir.resources ships R5 and R4B models; the API speaks R4 (4.0.1), whose six
resources used here have the same elements in R4B, so R4B's models validate
them (docs/decisions.md). What leaves is minimal: a patient's name, birth date
and phone numbers; an appointment's times, type, status and participants;
never the reason for visit, notes, address, e-mail or NIR.
"""

from datetime import UTC, datetime

from fhir.resources.R4B.appointment import Appointment as AppointmentModel
from fhir.resources.R4B.bundle import Bundle as BundleModel
from fhir.resources.R4B.capabilitystatement import CapabilityStatement as CapabilityModel
from fhir.resources.R4B.operationoutcome import OperationOutcome as OutcomeModel
from fhir.resources.R4B.patient import Patient as PatientModel
from fhir.resources.R4B.practitioner import Practitioner as PractitionerModel
from fhir.resources.R4B.practitionerrole import PractitionerRole as PractitionerRoleModel
from fhir.resources.R4B.schedule import Schedule as ScheduleModel
from fhir.resources.R4B.slot import Slot as SlotModel

from accounts.models import Practice, User
from appointments.models import Appointment, AppointmentType
from appointments.slots import Slot
from patients.models import Patient

FHIR_VERSION = "4.0.1"
# Our appointment types, as codes of a code system of this server.
TYPE_SYSTEM = "urn:secretariat:appointment-type"

MODELS = {
    "Appointment": AppointmentModel,
    "Bundle": BundleModel,
    "CapabilityStatement": CapabilityModel,
    "OperationOutcome": OutcomeModel,
    "Patient": PatientModel,
    "Practitioner": PractitionerModel,
    "PractitionerRole": PractitionerRoleModel,
    "Schedule": ScheduleModel,
    "Slot": SlotModel,
}

STATUS_TO_FHIR = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.ARRIVED: "arrived",
    Appointment.Status.NO_SHOW: "noshow",
    Appointment.Status.DONE: "fulfilled",
    Appointment.Status.CANCELLED: "cancelled",
}
STATUS_FROM_FHIR = {value: key for key, value in STATUS_TO_FHIR.items()}


def validated(resource: dict) -> dict:
    """The resource after fhir.resources validated it (raises ValueError, a
    pydantic ValidationError, when it is not a valid resource of its type)."""
    model = MODELS.get(resource.get("resourceType"))
    if model is None:
        raise ValueError("unsupported resourceType")
    model.model_validate(resource)
    return resource


def normalised(resource: dict) -> dict:
    """An incoming resource as fhir.resources reads it (types checked and
    coerced), back as JSON values: what the API then works on."""
    model = MODELS.get(resource.get("resourceType"))
    if model is None:
        raise ValueError("unsupported resourceType")
    return model.model_validate(resource).model_dump(mode="json", exclude_none=True, by_alias=True)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def type_concept(appointment_type: AppointmentType) -> dict:
    return {
        "coding": [
            {
                "system": TYPE_SYSTEM,
                "code": str(appointment_type.pk),
                "display": appointment_type.name,
            }
        ]
    }


def practitioner(user: User) -> dict:
    name = {"family": user.last_name or user.username}
    if user.first_name:
        name["given"] = [user.first_name]
    return {"resourceType": "Practitioner", "id": str(user.pk), "active": True, "name": [name]}


def _display(user: User) -> str:
    return user.get_full_name() or user.username


def practitioner_role(user: User, practice: Practice) -> dict:
    return {
        "resourceType": "PractitionerRole",
        "id": str(user.pk),
        "active": True,
        "practitioner": {"reference": f"Practitioner/{user.pk}", "display": _display(user)},
        "organization": {"display": practice.name},
        "code": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/practitioner-role",
                        "code": "doctor",
                    }
                ]
            }
        ],
    }


def schedule(user: User, types: list[AppointmentType]) -> dict:
    return {
        "resourceType": "Schedule",
        "id": str(user.pk),
        "active": True,
        "serviceType": [type_concept(kind) for kind in types],
        "actor": [{"reference": f"Practitioner/{user.pk}", "display": _display(user)}],
    }


def slot_id(slot: Slot, appointment_type: AppointmentType) -> str:
    return f"{slot.practitioner_id}-{appointment_type.pk}-{int(slot.start.timestamp())}"


def parse_slot_id(value: str) -> tuple[int, int, datetime] | None:
    parts = value.split("-")
    if len(parts) != 3 or not all(part.isdigit() and len(part) <= 12 for part in parts):
        return None
    return int(parts[0]), int(parts[1]), datetime.fromtimestamp(int(parts[2]), tz=UTC)


def slot(found: Slot, appointment_type: AppointmentType) -> dict:
    return {
        "resourceType": "Slot",
        "id": slot_id(found, appointment_type),
        "schedule": {"reference": f"Schedule/{found.practitioner_id}"},
        "serviceType": [type_concept(appointment_type)],
        "status": "free",
        "start": instant(found.start),
        "end": instant(found.end),
    }


def patient(row: Patient) -> dict:
    """Identity and phone numbers only, decrypted for this row alone."""
    name = {"family": row.read("last_name"), "use": "official"}
    first_names = row.read("first_names")
    if first_names:
        name["given"] = first_names.split()
    names = [name]
    birth_name = row.read("birth_name")
    if birth_name:
        names.append({"family": birth_name, "use": "maiden"})
    telecom = [
        {"system": "phone", "value": value, "use": use}
        for value, use in ((row.read("phone"), "mobile"), (row.read("phone_alt"), "home"))
        if value
    ]
    resource = {
        "resourceType": "Patient",
        "id": str(row.pk),
        "name": names,
        "birthDate": row.read("birth_date"),
    }
    if telecom:
        resource["telecom"] = telecom
    return resource


def appointment(row: Appointment) -> dict:
    """Times, type, status and participants; never the reason for visit."""
    resource = {
        "resourceType": "Appointment",
        "id": str(row.pk),
        "meta": {"lastUpdated": instant(row.updated_at)},
        "status": STATUS_TO_FHIR[row.status],
        "serviceType": [type_concept(row.appointment_type)],
        "start": instant(row.start),
        "end": instant(row.end),
        "minutesDuration": int((row.end - row.start).total_seconds() // 60),
        "created": instant(row.created_at),
        "participant": [
            {"actor": {"reference": f"Patient/{row.patient_id}"}, "status": "accepted"},
            {
                "actor": {
                    "reference": f"Practitioner/{row.practitioner_id}",
                    "display": _display(row.practitioner),
                },
                "status": "accepted",
            },
        ],
    }
    if row.status == Appointment.Status.CANCELLED and row.cancellation_category:
        resource["cancelationReason"] = {
            "coding": [
                {
                    "system": "urn:secretariat:cancellation",
                    "code": row.cancellation_category,
                }
            ]
        }
    return resource


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    422: "processing",
    429: "throttled",
}


def outcome(status: int, message: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": ISSUE_CODES.get(status, "exception"),
                "diagnostics": message,
            }
        ],
    }


def bundle(entries: list[dict], self_url: str, next_url: str | None, base: str) -> dict:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}{entry['resourceType']}/{entry['id']}",
                "resource": entry,
                "search": {"mode": "match"},
            }
            for entry in entries
        ],
    }
