"""The patient's file for access and portability (GDPR art. 15 and 20).

One document, in a documented and versioned schema (docs/export.md), holds
everything the practice holds on one patient. It is assembled from sections:
each app declares, in its own `portability.py`, the sections for its models
(`register(Section(...))`), so that the export is complete without this layer
importing the ones above it. `PatientsConfig.ready()` discovers them. A
section names the models it covers; tests/patients/test_portability.py finds
every model that references a patient (directly or through an appointment)
and fails when one is covered by no section, or when one of its rows is
missing from the document.

Every row carries its "id". Codes are given with their French label next to
them ("status" and "status_label"); people are named, never by id alone.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role
from audit.labels import actor_label
from audit.models import AuditEvent
from audit.selectors import patient_access_events
from patients.models import (
    BreakGlassGrant,
    ClinicalNote,
    Consent,
    Patient,
    PatientUserObjectPermission,
)

SCHEMA = "secretariat.patient-export"
SCHEMA_VERSION = 1

Row = dict[str, object]


@dataclass(frozen=True)
class Section:
    """One part of the document: its JSON key, its French title, the models
    whose rows it holds, its readable columns (key, French label) and the
    function that lists the patient's rows. `clinical` sections go only to
    those who may read the clinical notes."""

    key: str
    title: str
    models: tuple[type[Model], ...]
    columns: tuple[tuple[str, str], ...]
    rows: Callable[[Patient], list[Row]]
    clinical: bool = False
    order: int = 100


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    if section.key in _SECTIONS and _SECTIONS[section.key] != section:
        raise ValueError(f"export section {section.key!r} registered twice")
    _SECTIONS[section.key] = section
    return section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))


def person(user: User | None) -> str:
    """A person as the patient can read it: full name, else login; "" for none."""
    if user is None:
        return ""
    return user.get_full_name() or user.username


def access_words(event: AuditEvent) -> str:
    """ "Télésecrétaire — consultation": the role and the action in words."""
    action = str(event.get_action_display())
    if event.role in Role.values:
        return f"{Role(event.role).label} — {action[:1].lower()}{action[1:]}"
    return action


def _identity(patient: Patient) -> list[Row]:
    values = {name: patient.read(name) for name in patient.SEALED}
    return [
        {
            "id": str(patient.pk),
            **values,
            "restricted": patient.restricted,
            "created_at": patient.created_at,
            "updated_at": patient.updated_at,
        }
    ]


def _consents(patient: Patient) -> list[Row]:
    found = (
        Consent.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("recorded_by", "withdrawn_by")
        .order_by("given_at", "pk")
    )
    return [
        {
            "id": consent.pk,
            "purpose": consent.purpose,
            "purpose_label": str(consent.get_purpose_display()),
            "given_at": consent.given_at,
            "recorded_by": person(consent.recorded_by),
            "withdrawn_at": consent.withdrawn_at,
            "withdrawn_by": person(consent.withdrawn_by),
        }
        for consent in found
    ]


def _notes(patient: Patient) -> list[Row]:
    found = (
        ClinicalNote.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("author")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": str(note.pk),
            "created_at": note.created_at,
            "author": person(note.author),
            "text": note.read("text"),
        }
        for note in found
    ]


def _break_glass(patient: Patient) -> list[Row]:
    found = (
        BreakGlassGrant.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("user")
        .order_by("created_at", "pk")
    )
    return [
        {
            "id": str(grant.pk),
            "user": person(grant.user),
            "created_at": grant.created_at,
            "expires_at": grant.expires_at,
            "reason": grant.read("reason"),
        }
        for grant in found
    ]


def _restricted_grants(patient: Patient) -> list[Row]:
    found = (
        PatientUserObjectPermission.objects.filter(content_object=patient)
        .select_related("user", "permission")
        .order_by("pk")
    )
    return [
        {"id": grant.pk, "user": person(grant.user), "permission": str(grant.permission.name)}
        for grant in found
    ]


def _accesses(patient: Patient) -> list[Row]:
    events = patient_access_events(patient.practice, patient.pk).order_by("id")
    return [
        {
            "id": event.pk,
            "occurred_at": event.occurred_at,
            "who": actor_label(event.actor_username) or str(_("le système")),
            "what": access_words(event),
            "role": event.role,
            "action": event.action,
            "outcome": event.outcome,
            "outcome_label": str(event.get_outcome_display()),
        }
        for event in events
    ]


register(
    Section(
        key="patient",
        title=_("Identité et coordonnées"),
        models=(Patient,),
        columns=(
            ("last_name", _("Nom d'usage")),
            ("birth_name", _("Nom de naissance")),
            ("first_names", _("Prénoms")),
            ("birth_date", _("Date de naissance")),
            ("phone", _("Téléphone")),
            ("phone_alt", _("Autre téléphone")),
            ("email", _("Courriel")),
            ("address", _("Adresse")),
            ("nir", _("NIR")),
            ("created_at", _("Dossier créé le")),
        ),
        rows=_identity,
        order=0,
    )
)
register(
    Section(
        key="consents",
        title=_("Consentements et leur historique"),
        models=(Consent,),
        columns=(
            ("purpose_label", _("Objet")),
            ("given_at", _("Recueilli le")),
            ("recorded_by", _("Recueilli par")),
            ("withdrawn_at", _("Retiré le")),
            ("withdrawn_by", _("Retiré par")),
        ),
        rows=_consents,
        order=10,
    )
)
register(
    Section(
        key="clinical_notes",
        title=_("Notes cliniques"),
        models=(ClinicalNote,),
        columns=(("created_at", _("Date")), ("author", _("Auteur")), ("text", _("Note"))),
        rows=_notes,
        clinical=True,
        order=20,
    )
)
register(
    Section(
        key="break_glass_grants",
        title=_("Accès d'urgence au dossier restreint"),
        models=(BreakGlassGrant,),
        columns=(
            ("created_at", _("Ouvert le")),
            ("user", _("Par")),
            ("expires_at", _("Jusqu'au")),
            ("reason", _("Motif")),
        ),
        rows=_break_glass,
        clinical=True,
        order=80,
    )
)
register(
    Section(
        key="restricted_access",
        title=_("Personnes autorisées sur le dossier restreint"),
        models=(PatientUserObjectPermission,),
        columns=(("user", _("Personne")), ("permission", _("Autorisation"))),
        rows=_restricted_grants,
        order=81,
    )
)


def _value(value: object) -> object:
    if isinstance(value, list):
        return [_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _section_rows(section: Section, patient: Patient) -> list[Row]:
    return [{key: _value(value) for key, value in row.items()} for row in section.rows(patient)]


def patient_document(patient: Patient, *, clinical: bool) -> dict:
    """The whole document for one patient, JSON-ready. Without `clinical`, the
    clinical sections are left out and listed in "withheld". Callers check
    the permission and audit the export; the access trail is read last, so
    that it holds the caller's own export event when they recorded it first."""
    included = [section for section in sections() if clinical or not section.clinical]
    document: dict[str, object] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "generated_at": timezone.localtime().isoformat(),
        "practice": {"name": patient.practice.name, "slug": patient.practice.slug},
        "withheld": [section.key for section in sections() if section not in included],
    }
    for section in included:
        rows = _section_rows(section, patient)
        document[section.key] = rows[0] if section.key == "patient" else rows
    document["accesses"] = [
        {key: _value(value) for key, value in row.items()} for row in _accesses(patient)
    ]
    return document


ACCESS_COLUMNS = (
    ("occurred_at", _("Date")),
    ("who", _("Qui")),
    ("what", _("Quoi")),
    ("outcome_label", _("Résultat")),
)


def readable(document: dict) -> dict:
    """The document for the page: its date, then one titled table per section
    present (the identity as label / value pairs)."""
    return {"generated_at": _readable_cell(document["generated_at"]), "tables": _tables(document)}


def _tables(document: dict) -> list[dict]:
    tables = []
    for section in sections():
        if section.key not in document:
            continue
        rows = document[section.key]
        rows = [rows] if isinstance(rows, dict) else rows
        tables.append(_table(section.key, section.title, section.columns, rows))
    tables.append(_table("accesses", _("Accès au dossier"), ACCESS_COLUMNS, document["accesses"]))
    return tables


def _table(key: str, title: str, columns: tuple, rows: list[Row]) -> dict:
    cells = [[_readable_cell(row.get(name)) for name, _label in columns] for row in rows]
    headers = [label for _key, label in columns]
    return {
        "key": key,
        "title": title,
        "headers": headers,
        "rows": cells,
        "pairs": list(zip(headers, cells[0], strict=True)) if key == "patient" and cells else [],
    }


def _readable_cell(value: object) -> str:
    if isinstance(value, list):
        # Nested rows (an appointment's history): date and description.
        parts = [
            f"{_readable_cell(item.get('at'))} {item.get('description', '')}" for item in value
        ]
        return " ; ".join(parts) or "—"
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("oui") if value else _("non"))
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-":
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)
