"""Permission-aware queries on patients. Everything here filters on the
practice explicitly, on top of the ScopedManager.

The `access_*` selectors (zulip's style) are the audited reads: each fetches
inside the practice (another practice's id is a 404), applies the rule of
patients/rules.py where one holds, and records the read in the same call,
before anything is shown. A view reads patient data through them, never by a
query followed by its own `record_event`."""

import re
from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.http import Http404

from accounts.models import Practice
from accounts.selectors import PracticeAccess
from audit.context import Actor
from audit.models import Action, ObjectType, Outcome
from audit.services import patients_shown, record_event
from patients import keys, normalise, portability, rules
from patients.models import BreakGlassGrant, ClinicalNote, Consent, Patient
from patients.rules import NotesAccess
from patients.sealed import patient_sealed_models
from patients.services import Identity, blind_indexes

SEARCH_LIMIT = 50


def patient_get(practice: Practice, patient_id) -> Patient:
    """The practice's patient or 404 (another practice's id looks missing)."""
    patient = Patient.objects.filter(practice=practice, pk=patient_id).first()
    if patient is None:
        raise Http404
    return patient


@dataclass
class PatientSummary:
    """What a results list shows: decrypted for the matched rows only."""

    id: object
    last_name: str
    first_names: str
    birth_date: date
    phone: str
    restricted: bool


def summary(patient: Patient) -> PatientSummary:
    return PatientSummary(
        id=patient.pk,
        last_name=patient.read("last_name"),
        first_names=patient.read("first_names"),
        birth_date=date.fromisoformat(patient.read("birth_date")),
        phone=display_phone(patient.read("phone")),
        restricted=patient.restricted,
    )


def identity(patient: Patient) -> Identity:
    values = {name: patient.read(name) for name in Identity.__dataclass_fields__}
    values["birth_date"] = date.fromisoformat(values["birth_date"])
    return Identity(**values)


def display_phone(value: str) -> str:
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, normalise.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return value
    if phonenumbers.region_code_for_number(number) == normalise.PHONE_REGION:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@dataclass
class SearchResult:
    kind: str  # phone, birth_date, name, name_prefix, empty
    patients: list[Patient] = field(default_factory=list)


def patient_search(practice: Practice, query: str) -> SearchResult:
    """One box: a phone in any format, a birth date, a name, "nom prénom", or
    a name prefix (>= 3 letters). Lookups go through blind indexes; only the
    matched rows are decrypted (for display, or to refine a prefix match).
    Results come in the order of their id, which the (practice, index, id)
    indexes serve: a lookup reads at most SEARCH_LIMIT rows of each index,
    however many patients share the name (issue 18 item 3)."""
    text = query.strip()[:200]
    if not text:
        return SearchResult("empty")
    practice_keys = keys.practice_keys(practice.pk)
    base = Patient.objects.filter(practice=practice)
    found_date = normalise.birth_date(text) if re.search(r"\d", text) else None
    if found_date is not None:
        digest = practice_keys.blind_index("birth_date", found_date.isoformat())
        return SearchResult("birth_date", _first(practice, [("birth_date_bidx", digest)]))
    phone = normalise.phone(text)
    if phone is not None:
        digest = practice_keys.blind_index("phone", phone)
        return SearchResult(
            "phone", _first(practice, [("phone_bidx", digest), ("phone_alt_bidx", digest)])
        )
    name = normalise.name(text)
    if len(name.replace(" ", "")) < normalise.PREFIX_LENGTH or re.search(r"\d", name):
        return SearchResult("empty")
    exact = _first(practice, _name_lookups(practice_keys, name))
    if exact:
        return SearchResult("name", exact)
    return SearchResult("name_prefix", _prefix_matches(base, practice_keys, text, name))


def _name_lookups(practice_keys, name: str) -> list[tuple[str, bytes]]:
    name_digest = practice_keys.blind_index("name", name)
    lookups = [("last_name_bidx", name_digest), ("birth_name_bidx", name_digest)]
    words = name.split(" ")
    # "nom prénom" or "prénom nom", compound names included: try each split.
    for cut in range(1, len(words)):
        for last, first in ((words[:cut], words[cut:]), (words[cut:], words[:cut])):
            value = f"{' '.join(last)}|{first[0]}"
            lookups.append(("full_name_bidx", practice_keys.blind_index("full_name", value)))
    return lookups


# The blind-index columns a lookup may name (the only text formatted into SQL).
_LOOKUP_COLUMNS = frozenset(
    ("last_name_bidx", "birth_name_bidx", "full_name_bidx", "birth_date_bidx")
    + ("phone_bidx", "phone_alt_bidx")
)


def _first(practice: Practice, lookups: list[tuple[str, bytes]]) -> list[Patient]:
    """The first SEARCH_LIMIT patients by id matching any of the (column, digest)
    lookups, in one query. On PostgreSQL each lookup is its own `ORDER BY id
    LIMIT n` read of its (practice, column, id) index, the ids merged by a UNION
    ALL: an OR across columns would read every match of a common name, then sort
    them. The union is written as SQL: compiled by the ORM (a queryset union) it
    cost more than the query itself."""
    limit = SEARCH_LIMIT
    base = Patient.objects.filter(practice=practice)
    lookups = list(dict.fromkeys(lookups))
    if connection.vendor == "postgresql" and len(lookups) > 1:
        branches, params = [], []
        for column, digest in lookups:
            if column not in _LOOKUP_COLUMNS:
                raise ValueError(f"not a blind-index column: {column}")
            branches.append(
                f"(SELECT id FROM patients_patient WHERE practice_id = %s AND {column} = %s"  # noqa: S608
                " ORDER BY id LIMIT %s)"
            )
            params += [practice.pk, digest, limit]
        ids = RawSQL(" UNION ALL ".join(branches), params)  # noqa: S611
        return list(base.filter(pk__in=ids).order_by("pk")[:limit])
    condition = Q()
    for column, digest in lookups:
        condition |= Q(**{column: digest})
    return list(base.filter(condition).order_by("pk")[:limit])


def _prefix_matches(base, practice_keys, text: str, name: str) -> list[Patient]:
    """A bounded candidate set (the first SEARCH_LIMIT * 4 of the 3-letter
    bucket by id, read from its index), refined by decrypting their last names."""
    prefix = normalise.name_prefix(text)
    candidates = base.filter(
        name_prefix_bidx=practice_keys.blind_index("name_prefix", prefix)
    ).order_by("pk")[: SEARCH_LIMIT * 4]
    wanted = name.replace(" ", "")
    refined = [
        patient
        for patient in candidates
        if normalise.name(patient.read("last_name")).replace(" ", "").startswith(wanted)
    ]
    return refined[:SEARCH_LIMIT]


def duplicates(practice: Practice, identity: Identity, exclude=None) -> list[Patient]:
    """Patients of the practice whose blind indexes say "same person": same last
    name + first name + birth date, or same phone."""
    indexes = blind_indexes(practice.pk, identity)
    condition = Q(
        full_name_bidx=indexes["full_name_bidx"], birth_date_bidx=indexes["birth_date_bidx"]
    )
    for column in ("phone_bidx", "phone_alt_bidx"):
        digest = indexes[column]
        if digest:
            condition |= Q(phone_bidx=digest) | Q(phone_alt_bidx=digest)
    found = Patient.objects.filter(practice=practice).filter(condition)
    if exclude is not None:
        found = found.exclude(pk=exclude.pk)
    return list(found[:10])


def notes_for(patient: Patient) -> list[ClinicalNote]:
    return list(
        ClinicalNote.objects.filter(practice_id=patient.practice_id, patient=patient)
        .select_related("author")
        .order_by("-created_at")
    )


def consents_for(patient: Patient) -> list[Consent]:
    return list(
        Consent.objects.filter(practice_id=patient.practice_id, patient=patient).select_related(
            "recorded_by", "withdrawn_by"
        )
    )


def break_glass_grants(practice: Practice) -> list[BreakGlassGrant]:
    return list(BreakGlassGrant.objects.filter(practice=practice).select_related("user")[:200])


def sealed_records_without_patient(practice: Practice) -> list[dict]:
    """The practice's sealed rows tied to no patient (a call message about no
    known patient), opened, for the practice's hand-over export."""
    found = []
    for model, link in patient_sealed_models():
        rows = model.objects.filter(practice=practice, **{f"{link}__isnull": True}).order_by("pk")
        found += [
            {
                "sealed_record": model._meta.label_lower,
                "id": str(row.pk),
                "created_at": getattr(row, "created_at", None),
                **{name: row.read(name) for name in model.SEALED},
            }
            for row in rows.iterator(chunk_size=500)
        ]
    return found


def patient_export_data(practice: Practice, patient: Patient) -> dict:
    """Everything the practice holds on one patient (GDPR art. 15 and 20), and who
    accessed the record (patients/portability.py, docs/export.md). Callers check
    the permission (clinical notes included) and audit the export."""
    if patient.practice_id != practice.pk:
        raise Http404
    return portability.patient_document(patient, clinical=True)


def patient_match(
    practice: Practice,
    *,
    phone: str | None = None,
    birth_date: date | None = None,
    family: str | None = None,
    given: str | None = None,
    after=None,
    limit: int = SEARCH_LIMIT,
) -> list[Patient] | None:
    """The practice's patients matching every criterion given (the FHIR API's
    Patient search), through the blind indexes only: a phone (either number),
    a birth date, a last or birth name, a first name with the last name. Keyset
    by id (`after`), `limit` rows. None when a value cannot be searched (a phone
    that is not one, a first name alone): no criterion is ever dropped."""
    practice_keys = keys.practice_keys(practice.pk)
    condition = Q()
    if phone is not None:
        number = normalise.phone(phone)
        if number is None:
            return None
        digest = practice_keys.blind_index("phone", number)
        condition &= Q(phone_bidx=digest) | Q(phone_alt_bidx=digest)
    if birth_date is not None:
        condition &= Q(
            birth_date_bidx=practice_keys.blind_index("birth_date", birth_date.isoformat())
        )
    if given is not None and family is None:
        return None
    if family is not None:
        last = normalise.name(family)
        if not last:
            return None
        if given is not None:
            first = normalise.first_given_name(given)
            if not first:
                return None
            value = f"{last}|{first}"
            condition &= Q(full_name_bidx=practice_keys.blind_index("full_name", value))
        else:
            digest = practice_keys.blind_index("name", last)
            condition &= Q(last_name_bidx=digest) | Q(birth_name_bidx=digest)
    if not condition:
        return None
    found = Patient.objects.filter(practice=practice).filter(condition)
    if after is not None:
        found = found.filter(pk__gt=after)
    return list(found.order_by("pk")[:limit])


# --- Audited reads ----------------------------------------------------------------


def access_patient(
    *, actor: Actor, practice: Practice, patient_id, detail: dict | None = None
) -> Patient:
    """The practice's patient, its view recorded (`detail` says for what, e.g.
    {"for": "booking_type"})."""
    patient = patient_get(practice, patient_id)
    record_event(
        actor=actor,
        action=Action.VIEW,
        practice=patient.practice_id,
        object_type=ObjectType.PATIENT,
        object_id=patient.pk,
        detail=detail,
    )
    return patient


@dataclass
class PatientCard:
    patient: Patient
    notes_access: NotesAccess
    notes: list[ClinicalNote] | None  # None unless notes_access is ALLOWED


def access_patient_card(*, actor: Actor, access: PracticeAccess, patient_id) -> PatientCard:
    """The patient's card: the patient, and the clinical notes when the notes
    rule allows them (patients/rules.py); the view records how many notes it
    showed."""
    patient = patient_get(access.practice, patient_id)
    notes_rule = rules.notes_access(user=actor.user, access=access, patient=patient)
    notes = notes_for(patient) if notes_rule == NotesAccess.ALLOWED else None
    record_event(
        actor=actor,
        action=Action.VIEW,
        practice=patient.practice_id,
        object_type=ObjectType.PATIENT,
        object_id=patient.pk,
        detail={"notes": len(notes) if notes is not None else None},
    )
    return PatientCard(patient, notes_rule, notes)


def access_clinical_notes(
    *, actor: Actor, access: PracticeAccess, patient_id, record: bool = True
) -> Patient:
    """A patient whose clinical notes the user may read (PermissionDenied
    otherwise: a restricted record needs its grant or break-glass), for the
    pages that write or restrict them; the view is recorded unless the page is
    a POST whose service records the change (`record=False`)."""
    patient = patient_get(access.practice, patient_id)
    if rules.notes_access(user=actor.user, access=access, patient=patient) != NotesAccess.ALLOWED:
        raise PermissionDenied
    if record:
        record_event(
            actor=actor,
            action=Action.VIEW,
            practice=patient.practice_id,
            object_type=ObjectType.PATIENT,
            object_id=patient.pk,
        )
    return patient


def access_patient_export(
    *, actor: Actor, access: PracticeAccess, patient_id, fmt: str
) -> tuple[Patient, dict]:
    """The patient's whole record (GDPR art. 15 and 20) for a user who may read
    its notes, audited as what happened: refused (then PermissionDenied) when
    the notes rule refuses, granted only once allowed (issue 12, defect 9). The
    export is recorded before the data is read, so that it lists itself among
    the accesses."""
    patient = patient_get(access.practice, patient_id)
    notes_rule = rules.notes_access(user=actor.user, access=access, patient=patient)
    allowed = notes_rule == NotesAccess.ALLOWED
    record_event(
        actor=actor,
        action=Action.EXPORT,
        practice=patient.practice_id,
        outcome=Outcome.ALLOWED if allowed else Outcome.DENIED,
        object_type=ObjectType.PATIENT,
        object_id=patient.pk,
        detail={"format": fmt} if allowed else {"format": fmt, "notes_access": str(notes_rule)},
    )
    if not allowed:
        raise PermissionDenied
    return patient, patient_export_data(access.practice, patient)


def access_patient_search(
    *, actor: Actor, practice: Practice, query: str, purpose: str = ""
) -> SearchResult:
    """A search of the practice's patients, recorded with whom it found
    (`purpose` names the page that searched, e.g. "booking")."""
    found = patient_search(practice, query)
    detail = {"kind": found.kind, "results": len(found.patients)}
    if purpose:
        detail["for"] = purpose
    record_event(
        actor=actor,
        action=Action.SEARCH,
        practice=practice,
        object_type=ObjectType.PATIENT,
        detail=detail | patients_shown(patient.pk for patient in found.patients),
    )
    return found


def access_duplicates(
    *, actor: Actor, practice: Practice, identity: Identity, exclude: Patient | None = None
) -> list[Patient]:
    """The practice's patients that look like this identity (duplicates), the
    check recorded with whom it found when it found any."""
    found = duplicates(practice, identity, exclude=exclude)
    if found:
        record_event(
            actor=actor,
            action=Action.SEARCH,
            practice=practice,
            object_type=ObjectType.PATIENT,
            detail={"kind": "duplicate_check", "results": len(found)}
            | patients_shown(patient.pk for patient in found),
        )
    return found


def access_break_glass_grants(*, actor: Actor, practice: Practice) -> list[BreakGlassGrant]:
    """The practice's break-glass accesses (the review list), recorded with the
    patients it names."""
    grants = break_glass_grants(practice)
    record_event(
        actor=actor,
        action=Action.LIST,
        practice=practice,
        object_type=ObjectType.BREAK_GLASS_GRANT,
        detail={"results": len(grants)} | patients_shown(grant.patient_id for grant in grants),
    )
    return grants
